using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using static Engine.Kernels.Ptx.PtxMath;

namespace Engine.Kernels.Ptx;

/// <summary>
/// Runs the blocks of one launch, one block at a time (one runner per worker thread). Inside a block each thread
/// runs until it reaches a barrier, a warp-synchronous instruction or its exit; threads are visited in order of
/// their index, so a launch is deterministic. Shared memory carries a shadow that records, per byte, the last
/// writer, reader and atomic user since the last barrier, for the race and uninitialised-read checks.
/// </summary>
[SkipLocalsInit]
internal sealed unsafe partial class PtxBlockRunner
{
    private const byte Ready = 0, AtBarrier = 1, AtWarp = 2, Exited = 3;

    private readonly PtxLaunch _l;
    private readonly PtxProgram _p;
    private readonly Instr[] _code;
    private readonly int[] _vec;
    private readonly CallSite[] _calls;
    private readonly int _n, _slots;
    private readonly ulong[] _regs;
    private readonly int[] _pc;
    private readonly byte[] _state;
    private readonly long[] _executed;
    private readonly int[] _stack, _depth;
    private readonly byte[] _shm;
    private readonly long _shSize;
    // Per shared byte: tag (epoch << 11 | thread) of the last writer, of the first reader and first atomic user
    // since the last barrier, and the epoch tag (epoch << 11) once a second thread has read / used it atomically.
    private readonly long[] _sw, _sr, _sa, _srMany, _saMany;
    private readonly int[] _swPc, _srPc;
    private readonly byte[] _local;
    private readonly int _localStride, _scratchBase, _scratchBytes, _localBytes;
    private readonly int[] _allocCache;
    private readonly ulong[] _syncA, _syncB, _syncC;
    private readonly uint[] _syncMask;
    private readonly bool[] _syncValid;
    private readonly long _limit;
    private long _epoch, _epochTag, _firstTag;
    private Dim3 _ctaid;
    private int _traceThread = -1;
    private ulong[]? _initRegs;

    public long Instructions;
    public List<string>? Trace;

    public PtxBlockRunner(PtxLaunch l)
    {
        _l = l;
        _p = l.Program;
        _code = _p.Code;
        _vec = _p.VecSlots;
        _calls = _p.Calls;
        _n = (int)l.Block.Count;
        _slots = _p.SlotCount;
        _regs = new ulong[(long)_n * _slots];
        _pc = new int[_n];
        _state = new byte[_n];
        _executed = new long[_n];
        _stack = new int[_n * PtxProgram.MaxCallDepth];
        _depth = new int[_n];
        _shSize = l.SharedBytes;
        _shm = new byte[_shSize];
        _sw = new long[_shSize];
        _sr = new long[_shSize];
        _sa = new long[_shSize];
        _srMany = new long[_shSize];
        _saMany = new long[_shSize];
        _swPc = new int[_shSize];
        _srPc = new int[_shSize];
        _localBytes = _p.LocalBytes;
        _localStride = _p.LocalStride;
        _scratchBase = (_p.LocalBytes + 15) & ~15;
        _scratchBytes = _localStride - _scratchBase;
        _local = new byte[(long)_n * _localStride];
        _allocCache = new int[_code.Length];
        _syncA = new ulong[_n];
        _syncB = new ulong[_n];
        _syncC = new ulong[_n];
        _syncMask = new uint[_n];
        _syncValid = new bool[_n];
        _limit = l.InstructionLimit;
    }

    // ---------------------------------------------------------------- blocks and scheduling

    /// <summary>The register file every block starts from: zero registers, constants, and the special registers
    /// that do not depend on the block.</summary>
    private ulong[] InitialRegisters()
    {
        var init = new ulong[_regs.Length];
        var g = _l.Grid;
        var b = _l.Block;
        var consts = _l.ConstValues;
        int nwarps = (_n + 31) / 32;
        for (int t = 0; t < _n; t++)
        {
            long rb = (long)t * _slots;
            int lane = t & 31;
            init[rb + PtxProgram.SpTid] = (ulong)(t % b.X);
            init[rb + PtxProgram.SpTid + 1] = (ulong)(t / b.X % b.Y);
            init[rb + PtxProgram.SpTid + 2] = (ulong)(t / (b.X * b.Y));
            init[rb + PtxProgram.SpNtid] = (ulong)b.X;
            init[rb + PtxProgram.SpNtid + 1] = (ulong)b.Y;
            init[rb + PtxProgram.SpNtid + 2] = (ulong)b.Z;
            init[rb + PtxProgram.SpNctaid] = (ulong)g.X;
            init[rb + PtxProgram.SpNctaid + 1] = (ulong)g.Y;
            init[rb + PtxProgram.SpNctaid + 2] = (ulong)g.Z;
            init[rb + PtxProgram.SpLaneId] = (ulong)lane;
            init[rb + PtxProgram.SpWarpId] = (ulong)(t >> 5);
            init[rb + PtxProgram.SpNwarpId] = (ulong)nwarps;
            uint eq = 1u << lane;
            init[rb + PtxProgram.SpLaneMaskEq] = eq;
            init[rb + PtxProgram.SpLaneMaskLt] = eq - 1;
            init[rb + PtxProgram.SpLaneMaskLe] = eq | (eq - 1);
            init[rb + PtxProgram.SpLaneMaskGt] = ~(eq | (eq - 1));
            init[rb + PtxProgram.SpLaneMaskGe] = ~(eq - 1);
            consts.CopyTo(init, rb + _p.ConstBase);
        }
        return init;
    }

    public void RunBlock(int block)
    {
        var g = _l.Grid;
        _ctaid = new Dim3(block % g.X, block / g.X % g.Y, block / (g.X * g.Y));
        _initRegs ??= InitialRegisters();
        _initRegs.AsSpan().CopyTo(_regs);
        ulong cx = (ulong)_ctaid.X, cy = (ulong)_ctaid.Y, cz = (ulong)_ctaid.Z;
        for (int t = 0; t < _n; t++)
        {
            long rb = (long)t * _slots + PtxProgram.SpCtaid;
            _regs[rb] = cx;
            _regs[rb + 1] = cy;
            _regs[rb + 2] = cz;
        }
        Array.Clear(_pc);
        Array.Clear(_state);
        Array.Clear(_executed);
        Array.Clear(_depth);
        if (_local.Length > 0) Array.Clear(_local);
        _epoch++;
        _firstTag = _epoch << 11;
        _epochTag = _firstTag;
        _traceThread = block == _l.TraceBlock ? _l.TraceThread : -1;

        while (true)
        {
            bool progress;
            do
            {
                progress = false;
                for (int t = 0; t < _n; t++)
                {
                    if (_state[t] != Ready) continue;
                    progress = true;
                    if (t == _traceThread) RunTraced(t);
                    else RunThread<TraceOff>(t);
                }
            } while (progress);

            int firstBarrier = -1, firstWarp = -1;
            for (int t = 0; t < _n; t++)
            {
                if (_state[t] == AtBarrier && firstBarrier < 0) firstBarrier = t;
                if (_state[t] == AtWarp && firstWarp < 0) firstWarp = t;
            }
            if (firstWarp >= 0) throw WarpDeadlock(firstWarp);
            if (firstBarrier < 0) break;     // every thread has exited
            int bpc = _pc[firstBarrier];
            for (int t = 0; t < _n; t++)
            {
                if (_state[t] == AtBarrier && _pc[t] != bpc)
                    throw Fail(PtxDiagnostic.BarrierDivergence, t, _pc[t],
                        $"this thread waits at the barrier on line {_p.Lines[_pc[t]]} while thread {Tid(firstBarrier)} waits at the barrier on line {_p.Lines[bpc]}: a barrier is not reached by all non-exited threads (barrier in divergent code)");
            }
            _epoch++;
            _epochTag = _epoch << 11;
            for (int t = 0; t < _n; t++)
            {
                if (_state[t] != AtBarrier) continue;
                _state[t] = Ready;
                _pc[t]++;
            }
        }
        for (int t = 0; t < _n; t++) Instructions += _executed[t];
    }

    private Dim3 Tid(int t) => new(t % _l.Block.X, t / _l.Block.X % _l.Block.Y, t / (_l.Block.X * _l.Block.Y));

    private PtxRuntimeException Fail(PtxDiagnostic kind, int t, int pc, string detail) =>
        new(kind, _p.Name, pc >= 0 && pc < _p.Lines.Length ? _p.Lines[pc] : 0, _ctaid, Tid(t), detail);

    private string Describe(int u) => _state[u] switch
    {
        Exited => "has exited",
        AtBarrier => $"waits at the barrier on line {_p.Lines[_pc[u]]}",
        AtWarp => $"waits at line {_p.Lines[_pc[u]]}",
        _ => "is running",
    };

    private PtxRuntimeException WarpDeadlock(int t)
    {
        int pc = _pc[t];
        uint mask = _syncMask[t];
        int w = t & ~31;
        for (int lane = 0; lane < 32; lane++)
        {
            if ((mask >> lane & 1) == 0) continue;
            int u = w + lane;
            if (_state[u] != AtWarp || _pc[u] != pc)
                return Fail(PtxDiagnostic.WarpSync, t, pc,
                    $"{_code[pc].Op.ToString().ToLowerInvariant()}.sync waits for lane {lane} of its member mask 0x{mask:X8}, which {Describe(u)}");
        }
        return Fail(PtxDiagnostic.WarpSync, t, pc, "warp-synchronous instruction cannot complete");
    }

    // ---------------------------------------------------------------- warp-synchronous instructions

    /// <summary>Thread <paramref name="t"/> arrives at shfl.sync/vote.sync; the last member of the mask to arrive completes it for all.</summary>
    private void ArriveWarp(int t, int pc, Instr* ins, ulong* r)
    {
        uint mask = (uint)r[ins->F];
        int lane = t & 31, w = t & ~31;
        bool valid = (ins->Flags & IFlags.SyncGuard) == 0 || ((r[(int)ins->Imm] != 0) != ((ins->Flags & IFlags.SyncGuardNeg) != 0));
        if ((mask >> lane & 1) == 0)
            throw Fail(PtxDiagnostic.WarpSync, t, pc, $"the executing thread (lane {lane}) is not in the member mask 0x{mask:X8}");
        if (ins->Op == Op.Shfl)
        {
            _syncA[t] = r[ins->A];
            _syncB[t] = r[ins->B];
            _syncC[t] = r[ins->C];
        }
        else _syncA[t] = (r[ins->A] != 0) != ((ins->Flags & IFlags.NegA) != 0) ? 1UL : 0UL;
        _syncMask[t] = mask;
        _syncValid[t] = valid;
        _pc[t] = pc;
        _state[t] = AtWarp;
        bool all = true;
        for (int l = 0; l < 32; l++)
        {
            if ((mask >> l & 1) == 0) continue;
            int u = w + l;
            if (u >= _n)
                throw Fail(PtxDiagnostic.WarpSync, t, pc, $"member mask 0x{mask:X8} names lane {l}, which does not exist in a block of {_n} threads");
            if (_state[u] == Exited)
                throw Fail(PtxDiagnostic.WarpSync, t, pc, $"member mask 0x{mask:X8} names lane {l}, which has exited");
            if (_state[u] != AtWarp || _pc[u] != pc) all = false;
            else if (_syncMask[u] != mask)
                throw Fail(PtxDiagnostic.WarpSync, t, pc, $"lanes {lane} and {l} use different member masks (0x{mask:X8} and 0x{_syncMask[u]:X8})");
        }
        if (!all) return;

        fixed (ulong* rb = _regs)
        {
            if (ins->Op == Op.Shfl) ResolveShfl(ins, w, mask, pc, rb);
            else ResolveVote(ins, w, mask, rb);
        }
        for (int l = 0; l < 32; l++)
        {
            if ((mask >> l & 1) == 0) continue;
            int u = w + l;
            _state[u] = Ready;
            _pc[u] = pc + 1;
            if (u == _traceThread) TraceValues(u, pc, "completes");
        }
    }

    private void ResolveShfl(Instr* ins, int w, uint mask, int pc, ulong* rb)
    {
        var mode = (ShflMode)ins->Mode;
        Span<uint> result = stackalloc uint[32];
        Span<bool> inRange = stackalloc bool[32];
        for (int lane = 0; lane < 32; lane++)
        {
            if ((mask >> lane & 1) == 0) continue;
            int u = w + lane;
            if (!_syncValid[u]) continue;
            int bval = (int)(_syncB[u] & 31);
            uint c = (uint)_syncC[u];
            int cval = (int)(c & 31), seg = (int)(c >> 8 & 31);
            int maxLane = (lane & seg) | (cval & ~seg), minLane = lane & seg;
            int j;
            bool p;
            switch (mode)
            {
                case ShflMode.Up: j = lane - bval; p = j >= maxLane; break;
                case ShflMode.Down: j = lane + bval; p = j <= maxLane; break;
                case ShflMode.Bfly: j = lane ^ bval; p = j <= maxLane; break;
                default: j = minLane | (bval & ~seg); p = j <= maxLane; break;
            }
            if (!p) j = lane;
            int v = w + j;
            if (j > 31 || (mask >> j & 1) == 0 || !_syncValid[v])
                throw Fail(PtxDiagnostic.WarpSync, u, pc,
                    $"shfl.sync reads lane {j}, which is {((mask >> j & 1) == 0 ? $"not in the member mask 0x{mask:X8}" : "predicated off")} (its value is undefined)");
            result[lane] = (uint)_syncA[v];
            inRange[lane] = p;
        }
        for (int lane = 0; lane < 32; lane++)
        {
            int u = w + lane;
            if ((mask >> lane & 1) == 0 || !_syncValid[u]) continue;
            ulong* r = rb + (long)u * _slots;
            r[ins->D] = result[lane];
            if (ins->E >= 0) r[ins->E] = inRange[lane] ? 1UL : 0UL;
        }
    }

    private void ResolveVote(Instr* ins, int w, uint mask, ulong* rb)
    {
        uint ballot = 0, active = 0;
        for (int lane = 0; lane < 32; lane++)
        {
            if ((mask >> lane & 1) == 0 || !_syncValid[w + lane]) continue;
            active |= 1u << lane;
            if (_syncA[w + lane] != 0) ballot |= 1u << lane;
        }
        ulong value = (VoteMode)ins->Mode switch
        {
            VoteMode.All => ballot == active ? 1UL : 0UL,
            VoteMode.Any => ballot != 0 ? 1UL : 0UL,
            VoteMode.Uni => ballot == 0 || ballot == active ? 1UL : 0UL,
            _ => ballot,
        };
        for (int lane = 0; lane < 32; lane++)
        {
            if ((active >> lane & 1) == 0) continue;
            (rb + (long)(w + lane) * _slots)[ins->D] = value;
        }
    }

    // ---------------------------------------------------------------- tracing

    private void RunTraced(int t)
    {
        Trace ??= [];
        while (_state[t] == Ready)
        {
            int pc = _pc[t];
            ref var ins = ref _code[pc];
            bool on = ins.Guard < 0 || ((_regs[(long)t * _slots + ins.Guard] != 0) != ((ins.Flags & IFlags.GuardNeg) != 0));
            RunThread<TraceOn>(t);
            if (ins.Op is Op.Shfl or Op.Vote)
            {
                // Completion (with the values received) is traced when the last lane arrives.
                if (_state[t] == AtWarp) Trace.Add($"{Prefix(pc)}   ; waits for the warp");
            }
            else if (!on) Trace.Add($"{Prefix(pc)}   ; skipped (guard false)");
            else if (_state[t] == AtBarrier) Trace.Add($"{Prefix(pc)}   ; waits at the barrier");
            else if (_state[t] == Exited) Trace.Add($"{Prefix(pc)}   ; thread exits");
            else if (ins.Op is Op.Bra or Op.Call or Op.Ret) Trace.Add($"{Prefix(pc)}   ; -> line {_p.Lines[_pc[t]]}");
            else TraceValues(t, pc, null);
        }
    }

    private string Prefix(int pc) => $"{_p.Lines[pc],5}: {_p.Texts[pc]}";

    private void TraceValues(int t, int pc, string? what)
    {
        if (Trace == null) return;
        var parts = new List<string>();
        foreach (var (slot, type) in _p.Writes[pc])
            parts.Add($"{_p.SlotNames[slot]} = {Format(_regs[(long)t * _slots + slot], type)}");
        string vals = parts.Count > 0 ? string.Join(", ", parts) : "";
        Trace.Add(what == null ? $"{Prefix(pc)}   ; {vals}".TrimEnd(' ', ';') : $"{Prefix(pc)}   ; {what} {vals}".TrimEnd());
    }

    private static string Format(ulong v, PtxType t) => t switch
    {
        PtxType.Pred => v != 0 ? "true" : "false",
        PtxType.F32 => F(v).ToString("R", CultureInfo.InvariantCulture),
        PtxType.F64 => D(v).ToString("R", CultureInfo.InvariantCulture),
        PtxType.S8 or PtxType.S16 or PtxType.S32 => ((long)(v << (64 - PtxTypes.Size(t) * 8)) >> (64 - PtxTypes.Size(t) * 8)).ToString(CultureInfo.InvariantCulture),
        PtxType.S64 => ((long)v).ToString(CultureInfo.InvariantCulture),
        PtxType.U8 or PtxType.U16 or PtxType.U32 or PtxType.U64 => v.ToString(CultureInfo.InvariantCulture),
        PtxType.B8 or PtxType.B16 or PtxType.B32 => $"0x{v:X} ({v.ToString(CultureInfo.InvariantCulture)})",
        _ => $"0x{v:X}",
    };
}
