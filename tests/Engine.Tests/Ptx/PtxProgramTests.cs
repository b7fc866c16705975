using Engine.Kernels.Ptx;
using static Engine.Tests.Ptx.PtxHarness;

namespace Engine.Tests.Ptx;

/// <summary>Special registers, memory spaces, vectors, atomics, calls and warp-synchronous instructions.</summary>
public class PtxProgramTests
{
    [Test]
    public void SpecialRegistersDescribeA3DLaunch()
    {
        var module = Load("""
            .visible .entry ids(.param .u64 out)
            {
                .reg .b32 %r<20>;
                .reg .b64 %rd<5>;
                ld.param.u64 %rd1, [out];
                mov.u32 %r1, %tid.x;
                mov.u32 %r2, %tid.y;
                mov.u32 %r3, %tid.z;
                mov.u32 %r4, %ntid.x;
                mov.u32 %r5, %ntid.y;
                mov.u32 %r6, %ntid.z;
                mov.u32 %r7, %ctaid.x;
                mov.u32 %r8, %ctaid.y;
                mov.u32 %r9, %ctaid.z;
                mov.u32 %r10, %nctaid.x;
                mov.u32 %r11, %nctaid.y;
                mov.u32 %r12, %nctaid.z;
                mov.u32 %r13, %laneid;
                mov.u32 %r14, %warpid;
                // linear thread = tid.x + ntid.x * (tid.y + ntid.y * tid.z); linear block likewise
                mad.lo.s32 %r15, %r6, 0, %r3;
                mad.lo.s32 %r15, %r15, %r5, %r2;
                mad.lo.s32 %r15, %r15, %r4, %r1;
                mad.lo.s32 %r16, %r9, %r11, %r8;
                mad.lo.s32 %r16, %r16, %r10, %r7;
                mul.lo.s32 %r17, %r4, %r5;
                mul.lo.s32 %r17, %r17, %r6;
                mad.lo.s32 %r18, %r16, %r17, %r15;
                mul.lo.s32 %r18, %r18, 16;
                mul.wide.u32 %rd2, %r18, 4;
                add.s64 %rd3, %rd1, %rd2;
                st.global.v4.u32 [%rd3], {%r1, %r2, %r3, %r4};
                st.global.v4.u32 [%rd3+16], {%r5, %r6, %r7, %r8};
                st.global.v4.u32 [%rd3+32], {%r9, %r10, %r11, %r12};
                st.global.v2.u32 [%rd3+48], {%r13, %r14};
                ret;
            }
            """);
        Dim3 grid = (2, 3, 2), block = (4, 5, 3);
        using var dev = new EmulatedDevice();
        var o = dev.Alloc(grid.Count * block.Count * 16 * 4);
        dev.Launch(module, "ids", grid, block, 0, o);
        var v = dev.Download<uint>(o);
        int k = 0;
        for (int bz = 0; bz < 2; bz++)
            for (int by = 0; by < 3; by++)
                for (int bx = 0; bx < 2; bx++)
                    for (int tz = 0; tz < 3; tz++)
                        for (int ty = 0; ty < 5; ty++)
                            for (int tx = 0; tx < 4; tx++, k++)
                            {
                                int linear = tx + 4 * (ty + 5 * tz);
                                var want = new uint[] { (uint)tx, (uint)ty, (uint)tz, 4, 5, 3, (uint)bx, (uint)by, (uint)bz, 2, 3, 2, (uint)(linear % 32), (uint)(linear / 32) };
                                Assert.That(v.Skip(k * 16).Take(14), Is.EqualTo(want), $"block ({bx},{by},{bz}) thread ({tx},{ty},{tz})");
                            }
    }

    [Test]
    public void VectorLoadsAndStoresSignExtensionAndBytes()
    {
        var module = Load("""
            .visible .entry mem(.param .u64 in, .param .u64 out)
            {
                .reg .b32 %r<9>;
                .reg .f32 %f<5>;
                .reg .b64 %rd<8>;
                .shared .align 16 .b8 tile[32];
                ld.param.u64 %rd1, [in];
                ld.param.u64 %rd2, [out];
                ld.global.v4.f32 {%f1, %f2, %f3, %f4}, [%rd1];
                st.shared.v4.f32 [tile], {%f4, %f3, %f2, %f1};
                ld.shared.v2.f32 {%f1, _}, [tile+8];
                ld.shared.v4.f32 {%f1, %f2, %f3, %f4}, [tile];
                st.global.v4.f32 [%rd2], {%f1, %f2, %f3, %f4};
                ld.global.s8 %r1, [%rd1+16];
                ld.global.u8 %r2, [%rd1+16];
                ld.global.s16 %rd3, [%rd1+16];
                ld.global.v2.u64 {%rd4, %rd5}, [%rd1+16];
                st.global.u32 [%rd2+16], %r1;
                st.global.u32 [%rd2+20], %r2;
                st.global.u64 [%rd2+24], %rd3;
                st.global.v2.u64 [%rd2+32], {%rd5, %rd4};
                st.global.u8 [%rd2+48], 0x1AB;
                st.global.b16 [%rd2+50], 0xBEEF;
                ret;
            }
            """);
        using var dev = new EmulatedDevice();
        var input = new byte[32];
        BitConverter.GetBytes(1f).CopyTo(input, 0);
        BitConverter.GetBytes(2f).CopyTo(input, 4);
        BitConverter.GetBytes(3f).CopyTo(input, 8);
        BitConverter.GetBytes(4f).CopyTo(input, 12);
        BitConverter.GetBytes(0x1122_3344_5566_8899UL).CopyTo(input, 16);
        BitConverter.GetBytes(0x0102_0304_0506_0708UL).CopyTo(input, 24);
        var din = dev.Alloc(input);
        var dout = dev.Alloc(56);
        dev.Launch(module, "mem", 1, 1, 0, din, dout);
        var o = dev.Download<byte>(dout);
        Assert.That(Enumerable.Range(0, 4).Select(i => BitConverter.ToSingle(o, 4 * i)), Is.EqualTo(new[] { 4f, 3f, 2f, 1f }));
        Assert.That(BitConverter.ToUInt32(o, 16), Is.EqualTo(0xFFFF_FF99u), "ld.s8 sign-extends to the register");
        Assert.That(BitConverter.ToUInt32(o, 20), Is.EqualTo(0x99u), "ld.u8 zero-extends");
        Assert.That(BitConverter.ToUInt64(o, 24), Is.EqualTo(0xFFFF_FFFF_FFFF_8899UL), "ld.s16 into a 64-bit register");
        Assert.That(BitConverter.ToUInt64(o, 32), Is.EqualTo(0x0102_0304_0506_0708UL));
        Assert.That(BitConverter.ToUInt64(o, 40), Is.EqualTo(0x1122_3344_5566_8899UL));
        Assert.That(o[48], Is.EqualTo(0xAB), "st.u8 writes the low byte");
        Assert.That(o[49], Is.Zero);
        Assert.That(BitConverter.ToUInt16(o, 50), Is.EqualTo(0xBEEF));
    }

    [Test]
    public void LocalMemoryGenericAddressesAndModuleVariables()
    {
        var module = Load("""
            .const .align 4 .f32 coef[4] = {0f3F800000, 0f40000000, 0f40400000, 0f40800000};
            .global .align 4 .u32 calls = 5;
            .global .align 8 .b8 table[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

            .visible .entry vars(.param .u64 out)
            {
                .local .align 4 .b8 buf[16];
                .shared .align 4 .u32 sh[32];
                .reg .b32 %r<8>;
                .reg .f32 %f<6>;
                .reg .b64 %rd<12>;
                ld.param.u64 %rd1, [out];
                mov.u32 %r1, %tid.x;
                // Local array through its .local address, read back through the generic address.
                mov.u64 %rd2, buf;
                st.local.u32 [%rd2], %r1;
                add.s32 %r2, %r1, 100;
                st.local.u32 [%rd2+12], %r2;
                cvta.local.u64 %rd3, %rd2;
                ld.u32 %r3, [%rd3+12];
                ld.local.u32 %r4, [buf];
                // Shared memory through a generic address.
                mov.u64 %rd4, sh;
                cvta.shared.u64 %rd5, %rd4;
                mul.wide.u32 %rd6, %r1, 4;
                add.s64 %rd7, %rd5, %rd6;
                st.u32 [%rd7], %r2;
                cvta.to.shared.u64 %rd8, %rd7;
                ld.shared.u32 %r5, [%rd8];
                // Constant table and global variables.
                ld.const.f32 %f1, [coef+8];
                mov.u64 %rd9, coef;
                ld.const.f32 %f2, [%rd9+12];
                add.f32 %f3, %f1, %f2;
                ld.global.u8 %r6, [table+5];
                atom.global.add.u32 %r7, [calls], 1;
                mul.wide.u32 %rd10, %r1, 24;
                add.s64 %rd11, %rd1, %rd10;
                st.global.v2.u32 [%rd11], {%r3, %r4};
                st.global.v2.u32 [%rd11+8], {%r5, %r6};
                st.global.f32 [%rd11+16], %f3;
                st.global.u32 [%rd11+20], %r7;
                ret;
            }
            """);
        using var dev = new EmulatedDevice();
        var o = dev.Alloc(32 * 24);
        dev.Launch(module, "vars", 1, 32, 0, o);
        var v = dev.Download<uint>(o);
        var olds = new List<uint>();
        for (uint t = 0; t < 32; t++)
        {
            Assert.That(v.Skip((int)t * 6).Take(4), Is.EqualTo(new[] { t + 100, t, t + 100, 6u }), $"thread {t}");
            Assert.That(BitConverter.UInt32BitsToSingle(v[t * 6 + 4]), Is.EqualTo(7f));
            olds.Add(v[t * 6 + 5]);
        }
        Assert.That(olds, Is.EqualTo(Enumerable.Range(5, 32).Select(i => (uint)i)), "atom.add returns the old values in thread order");
        Assert.That(dev.Download<uint>(dev.GetGlobal(module, "calls")), Is.EqualTo(new[] { 37u }));
        var coef = dev.GetGlobal(module, "coef");
        Assert.That(dev.Download<float>(coef), Is.EqualTo(new[] { 1f, 2f, 3f, 4f }));
    }

    [Test]
    public void GlobalAtomics()
    {
        var module = Load("""
            .visible .entry atoms(.param .u64 cells, .param .u64 olds)
            {
                .reg .b32 %r<12>;
                .reg .f32 %f<3>;
                .reg .b64 %rd<8>;
                ld.param.u64 %rd1, [cells];
                ld.param.u64 %rd2, [olds];
                mov.u32 %r1, %tid.x;
                mul.wide.u32 %rd3, %r1, 4;
                add.s64 %rd4, %rd2, %rd3;
                atom.global.add.u32 %r2, [%rd1], 1;
                st.global.u32 [%rd4], %r2;
                sub.s32 %r3, 50, %r1;
                atom.global.min.s32 %r4, [%rd1+4], %r3;
                atom.global.max.u32 %r5, [%rd1+8], %r1;
                atom.global.inc.u32 %r6, [%rd1+12], 9;
                atom.global.dec.u32 %r6, [%rd1+16], 9;
                atom.global.exch.b32 %r7, [%rd1+20], %r1;
                atom.global.cas.b32 %r8, [%rd1+24], %r1, 1000;
                atom.global.or.b32 %r9, [%rd1+28], %r1;
                atom.global.xor.b32 %r9, [%rd1+32], 1;
                atom.global.and.b32 %r9, [%rd1+36], 0xFFFFFFF0;
                cvt.rn.f32.u32 %f1, %r1;
                red.global.add.f32 [%rd1+40], %f1;
                cvt.u64.u32 %rd5, %r1;
                red.global.add.u64 [%rd1+48], %rd5;
                ret;
            }
            """);
        using var dev = new EmulatedDevice();
        var init = new uint[14];
        init[1] = 100; init[6] = 7; init[9] = 0xFF;
        var cells = dev.Alloc(init);
        var olds = dev.Alloc(40 * 4);
        dev.Launch(module, "atoms", 1, 40, 0, cells, olds);
        var c = dev.Download<uint>(cells);
        Assert.That(c[0], Is.EqualTo(40u));
        Assert.That((int)c[1], Is.EqualTo(50 - 39), "min.s32 over 50-tid");
        Assert.That(c[2], Is.EqualTo(39u));
        Assert.That(c[3], Is.EqualTo(40u % 10), "inc wraps to 0 after reaching the bound 9");
        Assert.That(c[4], Is.EqualTo(0u), "dec from 0 wraps to the bound, then counts down: 40 steps");
        Assert.That(c[5], Is.EqualTo(39u), "the last exchange wins (threads run in order)");
        Assert.That(c[6], Is.EqualTo(1000u), "cas succeeds for the thread whose id equals the old value 7");
        Assert.That(c[7], Is.EqualTo(63u));
        Assert.That(c[8], Is.EqualTo(0u), "40 xors with 1");
        Assert.That(c[9], Is.EqualTo(0xF0u));
        Assert.That(BitConverter.UInt32BitsToSingle(c[10]), Is.EqualTo(780f));
        Assert.That(c[12] | ((ulong)c[13] << 32), Is.EqualTo(780UL));
        Assert.That(dev.Download<uint>(olds), Is.EqualTo(Enumerable.Range(0, 40).Select(i => (uint)i)));
    }

    [Test]
    public void CallsToFunctionsWithParametersAndReturnValues()
    {
        var module = Load("""
            .func (.param .b32 func_retval0) square_plus(
                .param .b32 square_plus_param_0,
                .param .b32 square_plus_param_1
            )
            {
                .reg .b32 %r<4>;
                ld.param.b32 %r1, [square_plus_param_0];
                ld.param.b32 %r2, [square_plus_param_1];
                mad.lo.s32 %r3, %r1, %r1, %r2;
                st.param.b32 [func_retval0+0], %r3;
                ret;
            }

            .func (.param .b32 func_retval0) twice_square_plus(.param .b32 x)
            {
                .reg .b32 %r<4>;
                ld.param.b32 %r1, [x];
                {
                .param .b32 param0;
                st.param.b32 [param0+0], %r1;
                .param .b32 param1;
                st.param.b32 [param1+0], 1;
                .param .b32 retval0;
                call.uni (retval0), square_plus, (param0, param1);
                ld.param.b32 %r2, [retval0+0];
                }
                shl.b32 %r3, %r2, 1;
                st.param.b32 [func_retval0+0], %r3;
                ret;
            }

            .visible .entry caller(.param .u64 out)
            {
                .reg .pred %p<2>;
                .reg .b32 %r<8>;
                .reg .b64 %rd<4>;
                ld.param.u64 %rd1, [out];
                mov.u32 %r1, %tid.x;
                {
                .param .b32 param0;
                st.param.b32 [param0+0], %r1;
                .param .b32 param1;
                st.param.b32 [param1+0], 7;
                .param .b32 retval0;
                call.uni (retval0), square_plus, (param0, param1);
                ld.param.b32 %r2, [retval0+0];
                }
                {
                .param .b32 param0;
                st.param.b32 [param0+0], %r1;
                .param .b32 retval0;
                call.uni (retval0), twice_square_plus, (param0);
                ld.param.b32 %r3, [retval0+0];
                }
                // A loop: %r4 = sum of 0..tid
                mov.u32 %r4, 0;
                mov.u32 %r5, 0;
            LOOP:
                setp.gt.u32 %p1, %r5, %r1;
                @%p1 bra END_LOOP;
                add.s32 %r4, %r4, %r5;
                add.s32 %r5, %r5, 1;
                bra.uni LOOP;
            END_LOOP:
                mul.wide.u32 %rd2, %r1, 16;
                add.s64 %rd3, %rd1, %rd2;
                st.global.v2.u32 [%rd3], {%r2, %r3};
                st.global.u32 [%rd3+8], %r4;
                setp.eq.u32 %p1, %r1, 3;
                @%p1 exit;
                st.global.u32 [%rd3+8], 0;
                ret;
            }
            """);
        using var dev = new EmulatedDevice();
        var o = dev.Alloc(16 * 16);
        dev.Launch(module, "caller", 1, 16, 0, o);
        var v = dev.Download<uint>(o);
        for (uint t = 0; t < 16; t++)
        {
            Assert.That(v[t * 4], Is.EqualTo(t * t + 7), $"square_plus({t}, 7)");
            Assert.That(v[t * 4 + 1], Is.EqualTo(2 * (t * t + 1)), $"twice_square_plus({t})");
            Assert.That(v[t * 4 + 2], Is.EqualTo(t == 3 ? 6u : 0u), "thread 3 exits before clearing its sum");
        }
    }

    [Test]
    public void ShuffleModesWithClampsAndSegments()
    {
        // out[lane * 5 + k] for the four modes, plus shfl.down within segments of 8 lanes.
        var module = Load("""
            .visible .entry shfl(.param .u64 out)
            {
                .reg .pred %p<6>;
                .reg .b32 %r<16>;
                .reg .b64 %rd<4>;
                ld.param.u64 %rd1, [out];
                mov.u32 %r1, %laneid;
                mul.lo.s32 %r2, %r1, 10;
                shfl.sync.up.b32 %r3|%p1, %r2, 3, 0, 0xffffffff;
                shfl.sync.down.b32 %r4|%p2, %r2, 5, 0x1f, 0xffffffff;
                shfl.sync.bfly.b32 %r5, %r2, 6, 0x1f, 0xffffffff;
                shfl.sync.idx.b32 %r6, %r2, 17, 0x1f, 0xffffffff;
                shfl.sync.down.b32 %r7|%p3, %r2, 2, 0x181f, 0xffffffff;
                selp.u32 %r8, 1, 0, %p1;
                selp.u32 %r9, 1, 0, %p2;
                selp.u32 %r10, 1, 0, %p3;
                mul.wide.u32 %rd2, %r1, 32;
                add.s64 %rd3, %rd1, %rd2;
                st.global.v4.u32 [%rd3], {%r3, %r4, %r5, %r6};
                st.global.v4.u32 [%rd3+16], {%r7, %r8, %r9, %r10};
                ret;
            }
            """);
        using var dev = new EmulatedDevice();
        var o = dev.Alloc(32 * 32);
        dev.Launch(module, "shfl", 1, 32, 0, o);
        var v = dev.Download<uint>(o);
        for (uint l = 0; l < 32; l++)
        {
            var row = v.Skip((int)l * 8).Take(8).ToArray();
            uint up = l >= 3 ? (l - 3) * 10 : l * 10;
            uint down = l + 5 <= 31 ? (l + 5) * 10 : l * 10;
            uint seg = (l & 7) + 2 <= 7 ? (l + 2) * 10 : l * 10;
            Assert.That(row, Is.EqualTo(new[] { up, down, (l ^ 6) * 10, 170u, seg, l >= 3 ? 1u : 0, l + 5 <= 31 ? 1u : 0, (l & 7) + 2 <= 7 ? 1u : 0 }), $"lane {l}");
        }
    }

    [Test]
    public void ShuffleAndVoteUnderDivergence()
    {
        // Only lanes 0-15 take part (member mask 0xFFFF); lanes 16-31 skip the block and exit.
        var module = Load("""
            .visible .entry diverge(.param .u64 out)
            {
                .reg .pred %p<4>;
                .reg .b32 %r<10>;
                .reg .b64 %rd<4>;
                ld.param.u64 %rd1, [out];
                mov.u32 %r1, %laneid;
                mov.u32 %r2, %r1;
                mov.u32 %r3, 0;
                mov.u32 %r4, 0;
                mov.u32 %r5, 0;
                setp.ge.u32 %p1, %r1, 16;
                @%p1 bra DONE;
                shfl.sync.bfly.b32 %r2, %r1, 1, 0x1f, 0xffff;
                and.b32 %r6, %r1, 1;
                setp.eq.u32 %p2, %r6, 1;
                vote.sync.ballot.b32 %r3, %p2, 0xffff;
                vote.sync.any.pred %p3, %p2, 0xffff;
                selp.u32 %r4, 1, 0, %p3;
                vote.sync.all.pred %p3, !%p1, 0xffff;
                selp.u32 %r5, 1, 0, %p3;
            DONE:
                mul.wide.u32 %rd2, %r1, 16;
                add.s64 %rd3, %rd1, %rd2;
                st.global.v4.u32 [%rd3], {%r2, %r3, %r4, %r5};
                ret;
            }
            """);
        using var dev = new EmulatedDevice();
        var o = dev.Alloc(32 * 16);
        dev.Launch(module, "diverge", 1, 32, 0, o);
        var v = dev.Download<uint>(o);
        for (uint l = 0; l < 32; l++)
        {
            var want = l < 16 ? new[] { l ^ 1, 0xAAAAu, 1u, 1u } : new[] { l, 0u, 0u, 0u };
            Assert.That(v.Skip((int)l * 4).Take(4), Is.EqualTo(want), $"lane {l}");
        }
    }

    [Test]
    public void ThreadsThatExitDoNotHoldUpABarrier()
    {
        // The common `if (i >= n) return; ... __syncthreads();` pattern: exited threads do not count.
        var module = Load("""
            .visible .entry early(.param .u64 out, .param .u32 n)
            {
                .reg .pred %p<2>;
                .reg .b32 %r<6>;
                .reg .b64 %rd<4>;
                .shared .align 4 .u32 s[64];
                ld.param.u64 %rd1, [out];
                ld.param.u32 %r1, [n];
                mov.u32 %r2, %tid.x;
                setp.ge.u32 %p1, %r2, %r1;
                @%p1 exit;
                mov.u32 %r3, s;
                shl.b32 %r4, %r2, 2;
                add.s32 %r3, %r3, %r4;
                st.shared.u32 [%r3], %r2;
                bar.sync 0;
                ld.shared.u32 %r5, [s];
                mul.wide.u32 %rd2, %r2, 4;
                add.s64 %rd3, %rd1, %rd2;
                add.s32 %r5, %r5, %r2;
                st.global.u32 [%rd3], %r5;
                ret;
            }
            """);
        using var dev = new EmulatedDevice();
        var o = dev.Alloc(64 * 4);
        dev.Launch(module, "early", 1, 64, 0, o, 40);
        Assert.That(dev.Download<uint>(o), Is.EqualTo(Enumerable.Range(0, 64).Select(i => i < 40 ? (uint)i : 0u)));
    }
    [Test]
    public void NvccStyleModuleWithDebugDirectivesTuningAndALocalDepot()
    {
        // The shape of `nvcc -lineinfo` output: .file/.loc, .ptr parameters, .maxntid, a pragma, %SP/%SPL and a
        // local depot holding a per-thread array.
        var module = Load("""
            .file   1 "saxpy.cu"

            .visible .entry _Z5saxpyfPKfPfi(
                .param .f32 _Z5saxpyfPKfPfi_param_0,
                .param .u64 .ptr .global .align 4 _Z5saxpyfPKfPfi_param_1,
                .param .u64 .ptr .global .align 4 _Z5saxpyfPKfPfi_param_2,
                .param .u32 _Z5saxpyfPKfPfi_param_3
            )
            .maxntid 128, 1, 1
            {
                .local .align 4 .b8 __local_depot0[16];
                .reg .b64 %SP;
                .reg .b64 %SPL;
                .reg .pred %p<3>;
                .reg .f32 %f<8>;
                .reg .b32 %r<8>;
                .reg .b64 %rd<12>;

                mov.u64 %SPL, __local_depot0;
                cvta.local.u64 %SP, %SPL;
                ld.param.f32 %f1, [_Z5saxpyfPKfPfi_param_0];
                ld.param.u64 %rd1, [_Z5saxpyfPKfPfi_param_1];
                ld.param.u64 %rd2, [_Z5saxpyfPKfPfi_param_2];
                ld.param.u32 %r2, [_Z5saxpyfPKfPfi_param_3];
                .loc    1 5 13
                mov.u32 %r3, %ctaid.x;
                mov.u32 %r4, %ntid.x;
                mov.u32 %r5, %tid.x;
                mad.lo.s32 %r1, %r3, %r4, %r5;
                .loc    1 6 5
                setp.ge.s32 %p1, %r1, %r2;
                @%p1 bra $L__BB0_4;
                cvta.to.global.u64 %rd3, %rd1;
                cvta.to.global.u64 %rd4, %rd2;
                mul.wide.s32 %rd5, %r1, 4;
                add.s64 %rd6, %rd3, %rd5;
                ld.global.nc.f32 %f2, [%rd6];
                add.u64 %rd7, %SP, 0;
                add.u64 %rd8, %SPL, 0;
                mov.u32 %r6, 0;
                mov.f32 %f3, %f2;
                // tmp[k] = x * 2^k for k < 4, through the generic and the local address of the depot
                .pragma "nounroll";
            $L__BB0_2:
                mul.wide.u32 %rd9, %r6, 4;
                add.s64 %rd10, %rd7, %rd9;
                st.f32 [%rd10], %f3;
                add.f32 %f3, %f3, %f3;
                add.s32 %r6, %r6, 1;
                setp.lt.u32 %p2, %r6, 4;
                @%p2 bra $L__BB0_2;
                ld.local.f32 %f4, [%rd8+12];
                add.s64 %rd11, %rd4, %rd5;
                ld.global.f32 %f5, [%rd11];
                fma.rn.f32 %f6, %f1, %f4, %f5;
                st.global.f32 [%rd11], %f6;
            $L__BB0_4:
                ret;
            }
            """);
        using var dev = new EmulatedDevice();
        int n = 300;
        var x = Enumerable.Range(0, n).Select(i => i * 0.25f).ToArray();
        var y = Enumerable.Range(0, n).Select(i => 1f - i).ToArray();
        var dx = dev.Alloc(x);
        var dy = dev.Alloc(y);
        var k = module.GetKernel("_Z5saxpyfPKfPfi");
        Assert.That(k.LocalBytesPerThread, Is.EqualTo(16));
        dev.Launch(module, k.Name, 3, 128, 0, 3f, dx, dy, n);
        Assert.That(dev.Download<float>(dy), Is.EqualTo(x.Zip(y, (a, b) => MathF.FusedMultiplyAdd(3f, a * 8, b)).ToArray()));
    }
}
