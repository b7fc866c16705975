namespace Engine.Kernels;

/// <summary>
/// A storage whose memory the host can read and write in place: CPU memory, and the emulated GPU's memory (host
/// memory at device addresses). CPU kernels run on any such storage, which is how the GPU backend falls back to
/// the CPU kernels on the emulated device.
/// </summary>
public unsafe interface IHostAddressable
{
    /// <summary>Host address of the storage's first byte (valid until the storage is released).</summary>
    byte* HostPointer { get; }
}
