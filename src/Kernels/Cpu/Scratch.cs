using System.Runtime.InteropServices;

namespace Engine.Kernels.Cpu;

/// <summary>
/// Per-thread scratch buffers for kernels (GEMM packing), kept between calls so a hot loop allocates nothing.
/// Each thread owns a few numbered slots; a slot grows when asked for more and is freed when its thread exits.
/// </summary>
internal static unsafe class Scratch
{
    private sealed class Slots
    {
        public readonly nint[] Ptr = new nint[4];
        public readonly long[] Size = new long[4];
        ~Slots() { foreach (var p in Ptr) if (p != 0) NativeMemory.AlignedFree((void*)p); }
    }

    [ThreadStatic] private static Slots? t_slots;

    /// <summary>A 64-byte aligned buffer of at least <paramref name="bytes"/> for this thread's slot <paramref name="slot"/>.</summary>
    public static void* Get(int slot, long bytes)
    {
        var s = t_slots ??= new Slots();
        if (s.Size[slot] < bytes)
        {
            if (s.Ptr[slot] != 0) NativeMemory.AlignedFree((void*)s.Ptr[slot]);
            s.Ptr[slot] = (nint)NativeMemory.AlignedAlloc((nuint)bytes, 64);
            s.Size[slot] = bytes;
        }
        return (void*)s.Ptr[slot];
    }
}
