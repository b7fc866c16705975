namespace Engine.Kernels.Ptx;

/// <summary>One allocation of emulated device memory: host bytes at a 64-bit device address.</summary>
internal sealed class DeviceAllocation(ulong address, byte[] data, bool readOnly, string label)
{
    public readonly ulong Base = address;
    public readonly ulong Length = (ulong)data.LongLength;
    public readonly byte[] Data = data;
    public readonly bool ReadOnly = readOnly;
    public readonly string Label = label;
}

/// <summary>Everything a launch shares between the threads that run its blocks (read-only while it runs).</summary>
internal sealed class PtxLaunch
{
    public required PtxProgram Program;
    public required Dim3 Grid;
    public required Dim3 Block;
    public required long SharedBytes;
    public required byte[] Params;
    /// <summary>Live allocations sorted by address; element 0 is an empty placeholder.</summary>
    public required DeviceAllocation[] Allocations;
    public required (ulong Base, ulong Length, string Label)[] Freed;
    public required ulong[] ConstValues;
    public required long InstructionLimit;
    /// <summary>The device's number and the start of its address range (for errors about another device's addresses).</summary>
    public required int DeviceId;
    public required ulong AddressBase;
    public int TraceBlock = -1;
    public int TraceThread = -1;
}

internal interface ITraceMode
{
    static abstract bool On { get; }
}

internal struct TraceOff : ITraceMode
{
    public static bool On => false;
}

internal struct TraceOn : ITraceMode
{
    public static bool On => true;
}
