using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using static Engine.Kernels.Ptx.PtxMath;

namespace Engine.Kernels.Ptx;

internal sealed unsafe partial class PtxBlockRunner
{
    /// <summary>Runs thread <paramref name="t"/> until it blocks or exits (or for one instruction when tracing).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void RunThread<TT>(int t) where TT : struct, ITraceMode
    {
        fixed (Instr* code = _code)
        fixed (ulong* rbase = _regs)
        {
            ulong* r = rbase + (long)t * _slots;
            int pc = _pc[t];
            long cnt = _executed[t];
            while (true)
            {
                Instr* ins = code + pc;
                cnt++;
                int next = pc + 1;
                if (ins->Guard >= 0 && (r[ins->Guard] != 0) == ((ins->Flags & IFlags.GuardNeg) != 0))
                {
                    // predicated off
                }
                else
                {
                    switch (ins->Op)
                    {
                        case Op.Nop: break;
                        case Op.Mov: r[ins->D] = r[ins->A]; break;
                        case Op.MovMask: r[ins->D] = r[ins->A] & (ulong)ins->Imm; break;
                        case Op.MovPack:
                        {
                            ulong v = 0, m = ins->Size >= 8 ? ulong.MaxValue : (1UL << (ins->Size * 8)) - 1;
                            for (int i = 0; i < ins->C; i++) v |= (r[_vec[ins->B + i]] & m) << (i * ins->Size * 8);
                            r[ins->D] = v;
                            break;
                        }
                        case Op.MovUnpack:
                        {
                            ulong v = r[ins->A], m = ins->Size >= 8 ? ulong.MaxValue : (1UL << (ins->Size * 8)) - 1;
                            for (int i = 0; i < ins->C; i++) r[_vec[ins->B + i]] = (v >> (i * ins->Size * 8)) & m;
                            break;
                        }
                        case Op.Selp: r[ins->D] = r[ins->C] != 0 ? r[ins->A] : r[ins->B]; break;

                        // ---- 32-bit integers
                        case Op.Add32: r[ins->D] = (uint)((uint)r[ins->A] + (uint)r[ins->B]); break;
                        case Op.Sub32: r[ins->D] = (uint)((uint)r[ins->A] - (uint)r[ins->B]); break;
                        case Op.MulLo32: r[ins->D] = (uint)((uint)r[ins->A] * (uint)r[ins->B]); break;
                        case Op.MulHiS32: r[ins->D] = (uint)(((long)(int)r[ins->A] * (int)r[ins->B]) >> 32); break;
                        case Op.MulHiU32: r[ins->D] = (uint)(((ulong)(uint)r[ins->A] * (uint)r[ins->B]) >> 32); break;
                        case Op.MulWideS32: r[ins->D] = (ulong)((long)(int)r[ins->A] * (int)r[ins->B]); break;
                        case Op.MulWideU32: r[ins->D] = (ulong)(uint)r[ins->A] * (uint)r[ins->B]; break;
                        case Op.MadLo32: r[ins->D] = (uint)((uint)r[ins->A] * (uint)r[ins->B] + (uint)r[ins->C]); break;
                        case Op.MadHiS32: r[ins->D] = (uint)((uint)(((long)(int)r[ins->A] * (int)r[ins->B]) >> 32) + (uint)r[ins->C]); break;
                        case Op.MadHiU32: r[ins->D] = (uint)((uint)(((ulong)(uint)r[ins->A] * (uint)r[ins->B]) >> 32) + (uint)r[ins->C]); break;
                        case Op.MadWideS32: r[ins->D] = (ulong)((long)(int)r[ins->A] * (int)r[ins->B]) + r[ins->C]; break;
                        case Op.MadWideU32: r[ins->D] = (ulong)(uint)r[ins->A] * (uint)r[ins->B] + r[ins->C]; break;
                        case Op.DivS32:
                        {
                            int a = (int)r[ins->A], b = (int)r[ins->B];
                            r[ins->D] = (uint)(b == 0 ? -1 : b == -1 ? unchecked(-a) : a / b);
                            break;
                        }
                        case Op.DivU32:
                        {
                            uint a = (uint)r[ins->A], b = (uint)r[ins->B];
                            r[ins->D] = b == 0 ? uint.MaxValue : a / b;
                            break;
                        }
                        case Op.RemS32:
                        {
                            int a = (int)r[ins->A], b = (int)r[ins->B];
                            r[ins->D] = (uint)(b == 0 ? a : b == -1 ? 0 : a % b);
                            break;
                        }
                        case Op.RemU32:
                        {
                            uint a = (uint)r[ins->A], b = (uint)r[ins->B];
                            r[ins->D] = b == 0 ? a : a % b;
                            break;
                        }
                        case Op.MinS32: r[ins->D] = (uint)Math.Min((int)r[ins->A], (int)r[ins->B]); break;
                        case Op.MinU32: r[ins->D] = Math.Min((uint)r[ins->A], (uint)r[ins->B]); break;
                        case Op.MaxS32: r[ins->D] = (uint)Math.Max((int)r[ins->A], (int)r[ins->B]); break;
                        case Op.MaxU32: r[ins->D] = Math.Max((uint)r[ins->A], (uint)r[ins->B]); break;
                        case Op.AbsS32: { int a = (int)r[ins->A]; r[ins->D] = (uint)(a < 0 ? unchecked(-a) : a); break; }
                        case Op.Neg32: r[ins->D] = (uint)unchecked(-(int)r[ins->A]); break;
                        case Op.AddSatS32: r[ins->D] = (uint)(int)Math.Clamp((long)(int)r[ins->A] + (int)r[ins->B], int.MinValue, int.MaxValue); break;
                        case Op.SubSatS32: r[ins->D] = (uint)(int)Math.Clamp((long)(int)r[ins->A] - (int)r[ins->B], int.MinValue, int.MaxValue); break;
                        case Op.Shl32: { uint s = (uint)r[ins->B]; r[ins->D] = s >= 32 ? 0 : (uint)((uint)r[ins->A] << (int)s); break; }
                        case Op.ShrU32: { uint s = (uint)r[ins->B]; r[ins->D] = s >= 32 ? 0 : (uint)r[ins->A] >> (int)s; break; }
                        case Op.ShrS32: { uint s = (uint)r[ins->B]; r[ins->D] = (uint)((int)r[ins->A] >> (int)Math.Min(s, 31u)); break; }

                        // ---- 64-bit integers
                        case Op.Add64: r[ins->D] = r[ins->A] + r[ins->B]; break;
                        case Op.Sub64: r[ins->D] = r[ins->A] - r[ins->B]; break;
                        case Op.MulLo64: r[ins->D] = r[ins->A] * r[ins->B]; break;
                        case Op.MulHiS64: r[ins->D] = (ulong)Math.BigMul((long)r[ins->A], (long)r[ins->B], out _); break;
                        case Op.MulHiU64: r[ins->D] = Math.BigMul(r[ins->A], r[ins->B], out _); break;
                        case Op.MadLo64: r[ins->D] = r[ins->A] * r[ins->B] + r[ins->C]; break;
                        case Op.MadHiS64: r[ins->D] = (ulong)Math.BigMul((long)r[ins->A], (long)r[ins->B], out _) + r[ins->C]; break;
                        case Op.MadHiU64: r[ins->D] = Math.BigMul(r[ins->A], r[ins->B], out _) + r[ins->C]; break;
                        case Op.DivS64:
                        {
                            long a = (long)r[ins->A], b = (long)r[ins->B];
                            r[ins->D] = (ulong)(b == 0 ? -1L : b == -1 ? unchecked(-a) : a / b);
                            break;
                        }
                        case Op.DivU64: { ulong a = r[ins->A], b = r[ins->B]; r[ins->D] = b == 0 ? ulong.MaxValue : a / b; break; }
                        case Op.RemS64:
                        {
                            long a = (long)r[ins->A], b = (long)r[ins->B];
                            r[ins->D] = (ulong)(b == 0 ? a : b == -1 ? 0 : a % b);
                            break;
                        }
                        case Op.RemU64: { ulong a = r[ins->A], b = r[ins->B]; r[ins->D] = b == 0 ? a : a % b; break; }
                        case Op.MinS64: r[ins->D] = (ulong)Math.Min((long)r[ins->A], (long)r[ins->B]); break;
                        case Op.MinU64: r[ins->D] = Math.Min(r[ins->A], r[ins->B]); break;
                        case Op.MaxS64: r[ins->D] = (ulong)Math.Max((long)r[ins->A], (long)r[ins->B]); break;
                        case Op.MaxU64: r[ins->D] = Math.Max(r[ins->A], r[ins->B]); break;
                        case Op.AbsS64: { long a = (long)r[ins->A]; r[ins->D] = (ulong)(a < 0 ? unchecked(-a) : a); break; }
                        case Op.Neg64: r[ins->D] = unchecked(0UL - r[ins->A]); break;
                        case Op.Shl64: { uint s = (uint)r[ins->B]; r[ins->D] = s >= 64 ? 0 : r[ins->A] << (int)s; break; }
                        case Op.ShrU64: { uint s = (uint)r[ins->B]; r[ins->D] = s >= 64 ? 0 : r[ins->A] >> (int)s; break; }
                        case Op.ShrS64: { uint s = (uint)r[ins->B]; r[ins->D] = (ulong)((long)r[ins->A] >> (int)Math.Min(s, 63u)); break; }
                        case Op.Int16:
                            r[ins->D] = Int16Op((IntOp)ins->Mode, (ins->Flags & IFlags.Signed) != 0, r[ins->A],
                                ins->B >= 0 ? r[ins->B] : 0, ins->C >= 0 ? r[ins->C] : 0);
                            break;

                        // ---- bitwise
                        case Op.And: r[ins->D] = r[ins->A] & r[ins->B]; break;
                        case Op.Or: r[ins->D] = r[ins->A] | r[ins->B]; break;
                        case Op.Xor: r[ins->D] = r[ins->A] ^ r[ins->B]; break;
                        case Op.Not: r[ins->D] = ~r[ins->A] & (ulong)ins->Imm; break;

                        // ---- f32
                        case Op.AddF32: r[ins->D] = Bits(F(r[ins->A]) + F(r[ins->B])); break;
                        case Op.SubF32: r[ins->D] = Bits(F(r[ins->A]) - F(r[ins->B])); break;
                        case Op.MulF32: r[ins->D] = Bits(F(r[ins->A]) * F(r[ins->B])); break;
                        case Op.FmaF32: r[ins->D] = Bits(MathF.FusedMultiplyAdd(F(r[ins->A]), F(r[ins->B]), F(r[ins->C]))); break;
                        case Op.DivF32: r[ins->D] = Bits(F(r[ins->A]) / F(r[ins->B])); break;
                        case Op.MinF32: r[ins->D] = Bits(PtxMath.Min(F(r[ins->A]), F(r[ins->B]))); break;
                        case Op.MaxF32: r[ins->D] = Bits(PtxMath.Max(F(r[ins->A]), F(r[ins->B]))); break;
                        case Op.AbsF32: r[ins->D] = r[ins->A] & 0x7FFF_FFFF; break;
                        case Op.NegF32: r[ins->D] = (r[ins->A] ^ 0x8000_0000) & 0xFFFF_FFFF; break;
                        case Op.RcpF32: r[ins->D] = Bits(1f / F(r[ins->A])); break;
                        case Op.SqrtF32: r[ins->D] = Bits(MathF.Sqrt(F(r[ins->A]))); break;
                        case Op.RsqrtF32: r[ins->D] = Bits(Rsqrt(F(r[ins->A]))); break;
                        case Op.Ex2F32: r[ins->D] = Bits(Ex2(F(r[ins->A]))); break;
                        case Op.Lg2F32: r[ins->D] = Bits(Lg2(F(r[ins->A]))); break;
                        case Op.SinF32: r[ins->D] = Bits((float)Math.Sin(F(r[ins->A]))); break;
                        case Op.CosF32: r[ins->D] = Bits((float)Math.Cos(F(r[ins->A]))); break;

                        // ---- f64
                        case Op.AddF64: r[ins->D] = Bits(D(r[ins->A]) + D(r[ins->B])); break;
                        case Op.SubF64: r[ins->D] = Bits(D(r[ins->A]) - D(r[ins->B])); break;
                        case Op.MulF64: r[ins->D] = Bits(D(r[ins->A]) * D(r[ins->B])); break;
                        case Op.FmaF64: r[ins->D] = Bits(Math.FusedMultiplyAdd(D(r[ins->A]), D(r[ins->B]), D(r[ins->C]))); break;
                        case Op.DivF64: r[ins->D] = Bits(D(r[ins->A]) / D(r[ins->B])); break;
                        case Op.MinF64: r[ins->D] = Bits(PtxMath.Min(D(r[ins->A]), D(r[ins->B]))); break;
                        case Op.MaxF64: r[ins->D] = Bits(PtxMath.Max(D(r[ins->A]), D(r[ins->B]))); break;
                        case Op.AbsF64: r[ins->D] = r[ins->A] & 0x7FFF_FFFF_FFFF_FFFF; break;
                        case Op.NegF64: r[ins->D] = r[ins->A] ^ 0x8000_0000_0000_0000; break;
                        case Op.RcpF64: r[ins->D] = Bits(1.0 / D(r[ins->A])); break;
                        case Op.SqrtF64: r[ins->D] = Bits(Math.Sqrt(D(r[ins->A]))); break;
                        case Op.RsqrtF64: r[ins->D] = Bits(1.0 / Math.Sqrt(D(r[ins->A]))); break;
                        case Op.FloatSlow:
                            r[ins->D] = FloatSlow((FloatOp)ins->Mode, ins->Size, (Rnd)ins->Size2, (ins->Flags & IFlags.Ftz) != 0, (ins->Flags & IFlags.Sat) != 0,
                                r[ins->A], ins->B >= 0 ? r[ins->B] : 0, ins->C >= 0 ? r[ins->C] : 0);
                            break;

                        // ---- comparisons
                        case Op.SetpI32:
                        {
                            ulong a = r[ins->A], b = r[ins->B];
                            SetPred(r, ins, CmpInt((Cmp)ins->Mode, (int)a, (int)b, (uint)a, (uint)b));
                            break;
                        }
                        case Op.SetpI64:
                        {
                            ulong a = r[ins->A], b = r[ins->B];
                            SetPred(r, ins, CmpInt((Cmp)ins->Mode, (long)a, (long)b, a, b));
                            break;
                        }
                        case Op.SetpI16:
                        {
                            ulong a = r[ins->A], b = r[ins->B];
                            SetPred(r, ins, CmpInt((Cmp)ins->Mode, (short)a, (short)b, (ushort)a, (ushort)b));
                            break;
                        }
                        case Op.SetpF32:
                        {
                            float a = F(r[ins->A]), b = F(r[ins->B]);
                            if ((ins->Flags & IFlags.Ftz) != 0) { a = Ftz(a); b = Ftz(b); }
                            SetPred(r, ins, CmpFloat((Cmp)ins->Mode, a, b));
                            break;
                        }
                        case Op.SetpF64: SetPred(r, ins, CmpFloat((Cmp)ins->Mode, D(r[ins->A]), D(r[ins->B]))); break;

                        // ---- conversions
                        case Op.CvtU64U32: r[ins->D] = (uint)r[ins->A]; break;
                        case Op.CvtS64S32: r[ins->D] = (ulong)(long)(int)r[ins->A]; break;
                        case Op.CvtTrunc32: r[ins->D] = (uint)r[ins->A]; break;
                        case Op.Cvt:
                            r[ins->D] = PtxMath.Convert(r[ins->A], (PtxType)ins->Size, (PtxType)ins->Size2, (Rnd)ins->Mode,
                                (ins->Flags & IFlags.Sat) != 0, (ins->Flags & IFlags.Ftz) != 0, ins->E);
                            break;
                        case Op.CvtaToGeneric:
                            r[ins->D] = (ins->Mode switch
                            {
                                (byte)CvtaSpace.Shared => r[ins->A] + PtxCompiler.SharedWindow,
                                (byte)CvtaSpace.Local => r[ins->A] + PtxCompiler.LocalWindow,
                                _ => r[ins->A],
                            }) & (ulong)ins->Imm;
                            break;
                        case Op.CvtaFromGeneric:
                            r[ins->D] = (ins->Mode switch
                            {
                                (byte)CvtaSpace.Shared => r[ins->A] - PtxCompiler.SharedWindow,
                                (byte)CvtaSpace.Local => r[ins->A] - PtxCompiler.LocalWindow,
                                _ => r[ins->A],
                            }) & (ulong)ins->Imm;
                            break;

                        // ---- memory
                        case Op.LdGlobal:
                        {
                            ref byte p = ref Global(r[ins->A] + (ulong)ins->Imm, ins->Size, pc, t, false);
                            r[ins->D] = Load(ref p, ins);
                            break;
                        }
                        case Op.StGlobal:
                            Store(ref Global(r[ins->A] + (ulong)ins->Imm, ins->Size, pc, t, true), ins->Size, r[ins->B]);
                            break;
                        case Op.LdShared:
                        {
                            ref byte p = ref Shared(r[ins->A] + (ulong)ins->Imm, ins->Size, pc, t, Access.Read);
                            r[ins->D] = Load(ref p, ins);
                            break;
                        }
                        case Op.StShared:
                            Store(ref Shared(r[ins->A] + (ulong)ins->Imm, ins->Size, pc, t, Access.Write), ins->Size, r[ins->B]);
                            break;
                        case Op.LdParamK:
                            r[ins->D] = Load(ref Param(r[ins->A] + (ulong)ins->Imm, ins->Size, pc, t), ins);
                            break;
                        case Op.LdParamS:
                            r[ins->D] = Load(ref Scratch(r[ins->A] + (ulong)ins->Imm, ins->Size, pc, t), ins);
                            break;
                        case Op.StParamS:
                            Store(ref Scratch(r[ins->A] + (ulong)ins->Imm, ins->Size, pc, t), ins->Size, r[ins->B]);
                            break;
                        case Op.LdLocal:
                            r[ins->D] = Load(ref Local(r[ins->A] + (ulong)ins->Imm, ins->Size, pc, t), ins);
                            break;
                        case Op.StLocal:
                            Store(ref Local(r[ins->A] + (ulong)ins->Imm, ins->Size, pc, t), ins->Size, r[ins->B]);
                            break;
                        case Op.LdGeneric:
                            r[ins->D] = Load(ref Generic(r[ins->A] + (ulong)ins->Imm, ins->Size, pc, t, Access.Read), ins);
                            break;
                        case Op.StGeneric:
                            Store(ref Generic(r[ins->A] + (ulong)ins->Imm, ins->Size, pc, t, Access.Write), ins->Size, r[ins->B]);
                            break;
                        case Op.LdVParamK:
                        case Op.LdVParamS:
                        case Op.LdVLocal:
                        case Op.LdVShared:
                        case Op.LdVGlobal:
                        case Op.LdVGeneric:
                        case Op.StVParamS:
                        case Op.StVLocal:
                        case Op.StVShared:
                        case Op.StVGlobal:
                        case Op.StVGeneric:
                            VectorAccess(ins, r, pc, t);
                            break;
                        case Op.AtomShared:
                        case Op.AtomGlobal:
                        case Op.AtomGeneric:
                            Atomic(ins, r, pc, t);
                            break;

                        // ---- control
                        case Op.Bra:
                            next = (int)ins->Imm;
                            if (next <= pc && cnt > _limit)
                                throw Fail(PtxDiagnostic.InstructionLimit, t, pc, $"the thread executed more than {_limit} instructions (an endless loop?); raise EmulatedDevice.InstructionLimitPerThread if this is expected");
                            break;
                        case Op.Call:
                        {
                            var cs = _calls[ins->Imm];
                            if (_depth[t] >= PtxProgram.MaxCallDepth) throw Fail(PtxDiagnostic.CallDepth, t, pc, $"calls nested deeper than {PtxProgram.MaxCallDepth}");
                            foreach (var m in cs.Args) Move(m, r, t);
                            _stack[t * PtxProgram.MaxCallDepth + _depth[t]++] = (int)ins->Imm;
                            next = cs.Target;
                            break;
                        }
                        case Op.Ret:
                        {
                            if (_depth[t] == 0) goto case Op.Exit;
                            var cs = _calls[_stack[t * PtxProgram.MaxCallDepth + --_depth[t]]];
                            foreach (var m in cs.Rets) Move(m, r, t);
                            next = cs.ReturnPc;
                            break;
                        }
                        case Op.Exit:
                            _state[t] = Exited;
                            _pc[t] = pc;
                            _executed[t] = cnt;
                            return;
                        case Op.Bar:
                            _state[t] = AtBarrier;
                            _pc[t] = pc;
                            _executed[t] = cnt;
                            return;
                        case Op.Shfl:
                        case Op.Vote:
                            _executed[t] = cnt;
                            ArriveWarp(t, pc, ins, r);
                            return;
                        default:
                            throw new InvalidOperationException($"opcode {ins->Op} has no implementation");
                    }
                }
                pc = next;
                if (TT.On)
                {
                    _pc[t] = pc;
                    _executed[t] = cnt;
                    return;
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void SetPred(ulong* r, Instr* ins, bool t)
    {
        bool p = t, q = !t;
        if (ins->Bool != BoolOp.None)
        {
            bool c = (r[ins->C] != 0) != ((ins->Flags & IFlags.NegC) != 0);
            (p, q) = ins->Bool switch
            {
                BoolOp.And => (p && c, q && c),
                BoolOp.Or => (p || c, q || c),
                _ => (p ^ c, q ^ c),
            };
        }
        r[ins->D] = p ? 1UL : 0UL;
        if (ins->E >= 0) r[ins->E] = q ? 1UL : 0UL;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool CmpInt(Cmp c, long sa, long sb, ulong ua, ulong ub) => c switch
    {
        Cmp.Eq => ua == ub,
        Cmp.Ne => ua != ub,
        Cmp.Lt => sa < sb,
        Cmp.Le => sa <= sb,
        Cmp.Gt => sa > sb,
        Cmp.Ge => sa >= sb,
        Cmp.Lo => ua < ub,
        Cmp.Ls => ua <= ub,
        Cmp.Hi => ua > ub,
        _ => ua >= ub,
    };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool CmpFloat(Cmp c, double a, double b)
    {
        bool nan = double.IsNaN(a) || double.IsNaN(b);
        return c switch
        {
            Cmp.Eq => a == b,
            Cmp.Ne => !nan && a != b,
            Cmp.Lt => a < b,
            Cmp.Le => a <= b,
            Cmp.Gt => a > b,
            Cmp.Ge => a >= b,
            Cmp.Equ => nan || a == b,
            Cmp.Neu => nan || a != b,
            Cmp.Ltu => nan || a < b,
            Cmp.Leu => nan || a <= b,
            Cmp.Gtu => nan || a > b,
            Cmp.Geu => nan || a >= b,
            Cmp.Num => !nan,
            _ => nan,
        };
    }

    /// <summary>16-bit integer instructions (values wrap at 16 bits; .wide results have 32).</summary>
    internal static ulong Int16Op(IntOp op, bool signed, ulong a, ulong b, ulong c)
    {
        long x = signed ? (short)a : (ushort)a, y = signed ? (short)b : (ushort)b;
        long z = signed ? (int)c : (uint)c;
        const ulong M16 = 0xFFFF, M32 = 0xFFFF_FFFF;
        switch (op)
        {
            case IntOp.Add: return (ulong)(x + y) & M16;
            case IntOp.Sub: return (ulong)(x - y) & M16;
            case IntOp.MulLo: return (ulong)(x * y) & M16;
            case IntOp.MulHi: return (ulong)((x * y) >> 16) & M16;
            case IntOp.MulWide: return (ulong)(x * y) & M32;
            case IntOp.MadLo: return (ulong)(x * y + z) & M16;
            case IntOp.MadHi: return (ulong)(((x * y) >> 16) + z) & M16;
            case IntOp.MadWide: return (ulong)(x * y + z) & M32;
            case IntOp.Div: return y == 0 ? M16 : (ulong)(x / y) & M16;
            case IntOp.Rem: return y == 0 ? (ulong)x & M16 : (ulong)(x % y) & M16;
            case IntOp.Min: return (ulong)Math.Min(x, y) & M16;
            case IntOp.Max: return (ulong)Math.Max(x, y) & M16;
            case IntOp.Abs: return (ulong)Math.Abs(x) & M16;
            case IntOp.Neg: return (ulong)(-x) & M16;
            case IntOp.Shl: return (uint)b >= 16 ? 0 : ((ulong)x << (int)(uint)b) & M16;
            case IntOp.Shr:
                if (signed) return (ulong)(x >> (int)Math.Min((uint)b, 15u)) & M16;
                return (uint)b >= 16 ? 0 : ((ulong)x >> (int)(uint)b) & M16;
            default: throw new InvalidOperationException($"16-bit {op}");
        }
    }

    // ---------------------------------------------------------------- memory

    private enum Access : byte { Read, Write, Atomic }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Read(ref byte p, int size) => size switch
    {
        4 => Unsafe.ReadUnaligned<uint>(ref p),
        8 => Unsafe.ReadUnaligned<ulong>(ref p),
        2 => Unsafe.ReadUnaligned<ushort>(ref p),
        _ => p,
    };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(ref byte p, int size, ulong v)
    {
        switch (size)
        {
            case 4: Unsafe.WriteUnaligned(ref p, (uint)v); break;
            case 8: Unsafe.WriteUnaligned(ref p, v); break;
            case 2: Unsafe.WriteUnaligned(ref p, (ushort)v); break;
            default: p = (byte)v; break;
        }
    }

    /// <summary>Loads <c>ins.Size</c> bytes, sign-extending signed types to the register's width (<c>ins.Size2</c>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Load(ref byte p, Instr* ins)
    {
        ulong v = Read(ref p, ins->Size);
        if ((ins->Flags & IFlags.Signed) != 0 && ins->Size2 > ins->Size) v = SignExtend(v, ins->Size, ins->Size2);
        return v;
    }

    private static ulong SignExtend(ulong v, int size, int regSize)
    {
        int sh = 64 - size * 8;
        ulong x = (ulong)((long)(v << sh) >> sh);
        return regSize >= 8 ? x : x & ((1UL << (regSize * 8)) - 1);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref byte Global(ulong addr, int size, int pc, int t, bool write)
    {
        var al = _l.Allocations[_allocCache[pc]];
        ulong off = addr - al.Base;
        if (off >= al.Length || al.Length - off < (ulong)size)
        {
            al = FindGlobal(addr, size, pc, t, write);
            off = addr - al.Base;
        }
        if ((addr & (ulong)(size - 1)) != 0) throw Misaligned(addr, size, pc, t);
        if (write && al.ReadOnly)
            throw Fail(PtxDiagnostic.GlobalOutOfBounds, t, pc, $"store to 0x{addr:X} in {al.Label}, which is read-only (constant memory)");
        return ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(al.Data), (nint)off);
    }

    private DeviceAllocation FindGlobal(ulong addr, int size, int pc, int t, bool write)
    {
        var allocs = _l.Allocations;
        int lo = 1, hi = allocs.Length - 1, found = -1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            if (allocs[mid].Base <= addr) { found = mid; lo = mid + 1; }
            else hi = mid - 1;
        }
        if (found > 0)
        {
            var a = allocs[found];
            ulong off = addr - a.Base;
            if (off < a.Length && a.Length - off >= (ulong)size)
            {
                _allocCache[pc] = found;
                return a;
            }
        }
        throw Fail(PtxDiagnostic.GlobalOutOfBounds, t, pc, DescribeBadGlobal(addr, size, write, found));
    }

    private string DescribeBadGlobal(ulong addr, int size, bool write, int below)
    {
        string what = $"{(write ? "store to" : "load from")} 0x{addr:X} ({size} byte{(size == 1 ? "" : "s")})";
        if (addr - PtxCompiler.SharedWindow < PtxCompiler.WindowSize || addr - PtxCompiler.LocalWindow < PtxCompiler.WindowSize)
            return $"{what} is a generic shared/local address used as a global address";
        // Empty unless the address is outside this device's range (in another device's, or below them all).
        string owner = EmulatedDevice.DescribeOwner(addr, _l.DeviceId, _l.AddressBase);
        foreach (var (b, len, label) in _l.Freed)
            if (addr >= b && addr < b + Math.Max(len, 1)) return $"{what} is inside {label}, which has been freed";
        var allocs = _l.Allocations;
        if (below > 0 && owner.Length > 0) return $"{what} is outside this device's memory{owner}";
        if (below > 0)
        {
            var a = allocs[below];
            ulong end = a.Base + a.Length;
            if (addr >= end) return $"{what} is {addr - end} byte(s) past the end of {a.Label} [0x{a.Base:X}, +{a.Length})";
            return $"{what} runs past the end of {a.Label} [0x{a.Base:X}, +{a.Length})";
        }
        if (below < 0 && allocs.Length > 1 && addr < allocs[1].Base)
            return $"{what} is {allocs[1].Base - addr} byte(s) before the start of {allocs[1].Label} [0x{allocs[1].Base:X}, +{allocs[1].Length}){owner}";
        return $"{what} is outside every live allocation{owner}";
    }

    private PtxRuntimeException Misaligned(ulong addr, int size, int pc, int t) =>
        Fail(PtxDiagnostic.Misaligned, t, pc, $"address 0x{addr:X} is not aligned to the access size of {size} bytes");

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref byte Shared(ulong addr, int size, int pc, int t, Access kind)
    {
        if (addr >= (ulong)_shSize || (ulong)_shSize - addr < (ulong)size)
            throw Fail(PtxDiagnostic.SharedOutOfBounds, t, pc,
                $"{AccessName(kind)} of {size} byte(s) at shared offset {(long)addr} is outside the block's {_shSize} bytes of shared memory");
        if ((addr & (ulong)(size - 1)) != 0) throw Misaligned(addr, size, pc, t);
        CheckShadow((int)addr, size, pc, t, kind);
        return ref _shm[addr];
    }

    private static string AccessName(Access k) => k switch { Access.Read => "read", Access.Write => "write", _ => "atomic" };

    /// <summary>Race and initialisation checks on shared bytes [addr, addr+size).</summary>
    private void CheckShadow(int addr, int size, int pc, int t, Access kind)
    {
        long me = _epochTag + t, now = _epochTag;
        for (int i = addr; i < addr + size; i++)
        {
            long w = _sw[i], rd = _sr[i], at = _sa[i];
            if (kind != Access.Write && w < _firstTag && at < _firstTag)
                throw Fail(PtxDiagnostic.UninitializedSharedRead, t, pc,
                    $"{AccessName(kind)} of shared {SharedName(i)}, which no thread of the block has written since the launch");
            if (w >= now && w != me)
                throw Race(i, t, pc, kind, $"thread {Tid((int)(w - now))} wrote it at line {_p.Lines[_swPc[i]]}");
            if (kind != Access.Read)
            {
                // A write or an atomic conflicts with reads by other threads.
                if (rd >= now && rd != me)
                    throw Race(i, t, pc, kind, $"thread {Tid((int)(rd - now))} read it at line {_p.Lines[_srPc[i]]}");
                if (_srMany[i] >= now)
                    throw Race(i, t, pc, kind, "other threads read it");
            }
            if (kind != Access.Atomic)
            {
                // A plain access conflicts with atomics by other threads.
                if (at >= now && at != me)
                    throw Race(i, t, pc, kind, $"thread {Tid((int)(at - now))} used it atomically");
                if (_saMany[i] >= now)
                    throw Race(i, t, pc, kind, "other threads used it atomically");
            }
            switch (kind)
            {
                case Access.Write:
                    _sw[i] = me;
                    _swPc[i] = pc;
                    break;
                case Access.Read:
                    if (rd < now) { _sr[i] = me; _srPc[i] = pc; }
                    else if (rd != me) _srMany[i] = now;
                    break;
                default:
                    if (at < now) _sa[i] = me;
                    else if (at != me) _saMany[i] = now;
                    break;
            }
        }
    }

    private PtxRuntimeException Race(int offset, int t, int pc, Access kind, string other) =>
        Fail(PtxDiagnostic.SharedRace, t, pc,
            $"{AccessName(kind)} of shared {SharedName(offset)} races: {other}, with no barrier in between");

    private string SharedName(int offset)
    {
        foreach (var s in _p.SharedSymbols)
        {
            long size = s.Dynamic ? _shSize - s.Offset : s.Size;
            if (offset >= s.Offset && offset < s.Offset + size) return $"'{s.Name}+{offset - s.Offset}' (offset {offset})";
        }
        return $"offset {offset}";
    }

    private ref byte Local(ulong addr, int size, int pc, int t)
    {
        if (addr >= (ulong)_localBytes || (ulong)_localBytes - addr < (ulong)size)
            throw Fail(PtxDiagnostic.LocalOutOfBounds, t, pc, $"local access of {size} byte(s) at offset {(long)addr} is outside the thread's {_localBytes} bytes of local memory");
        if ((addr & (ulong)(size - 1)) != 0) throw Misaligned(addr, size, pc, t);
        return ref _local[(long)t * _localStride + (long)addr];
    }

    private ref byte Scratch(ulong addr, int size, int pc, int t)
    {
        if (addr >= (ulong)_scratchBytes || (ulong)_scratchBytes - addr < (ulong)size)
            throw Fail(PtxDiagnostic.LocalOutOfBounds, t, pc, $"parameter access of {size} byte(s) at offset {(long)addr} is outside the function's parameters");
        return ref _local[(long)t * _localStride + _scratchBase + (long)addr];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref byte Param(ulong addr, int size, int pc, int t)
    {
        var ps = _l.Params;
        if (addr >= (ulong)ps.Length || (ulong)ps.Length - addr < (ulong)size)
            throw Fail(PtxDiagnostic.LocalOutOfBounds, t, pc, $"kernel parameter access of {size} byte(s) at offset {(long)addr} is outside the {ps.Length} parameter bytes");
        return ref ps[addr];
    }

    private ref byte Generic(ulong addr, int size, int pc, int t, Access kind)
    {
        if (addr - PtxCompiler.SharedWindow < PtxCompiler.WindowSize) return ref Shared(addr - PtxCompiler.SharedWindow, size, pc, t, kind);
        if (addr - PtxCompiler.LocalWindow < PtxCompiler.WindowSize) return ref Local(addr - PtxCompiler.LocalWindow, size, pc, t);
        return ref Global(addr, size, pc, t, kind != Access.Read);
    }

    private void VectorAccess(Instr* ins, ulong* r, int pc, int t)
    {
        int size = ins->Size, n = ins->C, total = size * n;
        ulong addr = r[ins->A] + (ulong)ins->Imm;
        bool load = ins->Op <= Op.LdVGeneric;
        var kind = load ? Access.Read : Access.Write;
        ref byte p = ref Unsafe.NullRef<byte>();
        switch (ins->Op)
        {
            case Op.LdVParamK: p = ref Param(addr, total, pc, t); break;
            case Op.LdVParamS or Op.StVParamS: p = ref Scratch(addr, total, pc, t); break;
            case Op.LdVLocal or Op.StVLocal: p = ref Local(addr, total, pc, t); break;
            case Op.LdVShared or Op.StVShared: p = ref Shared(addr, total, pc, t, kind); break;
            case Op.LdVGlobal or Op.StVGlobal: p = ref Global(addr, total, pc, t, !load); break;
            default: p = ref Generic(addr, total, pc, t, kind); break;
        }
        bool signed = (ins->Flags & IFlags.Signed) != 0;
        for (int i = 0; i < n; i++)
        {
            int slot = _vec[ins->B + i];
            ref byte e = ref Unsafe.Add(ref p, i * size);
            if (load)
            {
                if (slot < 0) continue;
                ulong v = Read(ref e, size);
                r[slot] = signed && ins->Size2 > size ? SignExtend(v, size, ins->Size2) : v;
            }
            else Store(ref e, size, r[slot]);
        }
    }

    private void Atomic(Instr* ins, ulong* r, int pc, int t)
    {
        ulong addr = r[ins->A] + (ulong)ins->Imm;
        int size = ins->Size;
        ref byte p = ref Unsafe.NullRef<byte>();
        if (ins->Op == Op.AtomShared) p = ref Shared(addr, size, pc, t, Access.Atomic);
        else if (ins->Op == Op.AtomGlobal) p = ref Global(addr, size, pc, t, true);
        else p = ref Generic(addr, size, pc, t, Access.Atomic);
        ulong old = Read(ref p, size), b = r[ins->B];
        var type = (AtomType)ins->Size2;
        ulong nv;
        switch ((AtomOp)ins->Mode)
        {
            case AtomOp.Add:
                if (type == AtomType.F)
                    nv = size == 4 ? Bits(Ftz(Ftz(F(old)) + Ftz(F(b)))) : Bits(D(old) + D(b));
                else nv = old + b;
                break;
            case AtomOp.Min:
                nv = type == AtomType.S
                    ? (size == 4 ? (uint)Math.Min((int)old, (int)b) : (ulong)Math.Min((long)old, (long)b))
                    : (size == 4 ? Math.Min((uint)old, (uint)b) : Math.Min(old, b));
                break;
            case AtomOp.Max:
                nv = type == AtomType.S
                    ? (size == 4 ? (uint)Math.Max((int)old, (int)b) : (ulong)Math.Max((long)old, (long)b))
                    : (size == 4 ? Math.Max((uint)old, (uint)b) : Math.Max(old, b));
                break;
            case AtomOp.Exch: nv = b; break;
            case AtomOp.Cas: nv = old == (size == 4 ? (uint)b : b) ? r[ins->C] : old; break;
            case AtomOp.And: nv = old & b; break;
            case AtomOp.Or: nv = old | b; break;
            case AtomOp.Xor: nv = old ^ b; break;
            case AtomOp.Inc: nv = (uint)old >= (uint)b ? 0 : old + 1; break;
            default: nv = (uint)old == 0 || (uint)old > (uint)b ? b : old - 1; break;
        }
        Store(ref p, size, nv);
        if (ins->D >= 0) r[ins->D] = old;
    }

    /// <summary>Moves one call argument or return value between registers and the thread's parameter scratch.</summary>
    private void Move(ArgMove m, ulong* r, int t)
    {
        long baseOff = (long)t * _localStride + _scratchBase;
        if (m.FromSlot >= 0)
        {
            ulong v = r[m.FromSlot];
            for (int i = 0; i < m.Size; i++) _local[baseOff + m.ToOffset + i] = (byte)(v >> (8 * i));
            return;
        }
        if (m.ToSlot >= 0)
        {
            ulong v = 0;
            for (int i = 0; i < m.Size && i < 8; i++) v |= (ulong)_local[baseOff + m.FromOffset + i] << (8 * i);
            if (m.RegSize < 8) v &= (1UL << (m.RegSize * 8)) - 1;
            r[m.ToSlot] = v;
            return;
        }
        Array.Copy(_local, baseOff + m.FromOffset, _local, baseOff + m.ToOffset, m.Size);
    }
}
