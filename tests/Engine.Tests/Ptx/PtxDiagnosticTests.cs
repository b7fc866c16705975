using Engine.Kernels.Ptx;
using static Engine.Tests.Ptx.PtxHarness;

namespace Engine.Tests.Ptx;

/// <summary>Each check provoked by a deliberately broken kernel; the diagnostic names kernel, line, block and thread.</summary>
public class PtxDiagnosticTests
{
    /// <summary>1-based line, in the loaded module text, of the first line of <paramref name="body"/> containing <paramref name="snippet"/>.</summary>
    private static int LineOf(string body, string snippet, int occurrence = 1)
    {
        var lines = (Header + body).Split('\n');
        for (int i = 0, seen = 0; i < lines.Length; i++)
            if (lines[i].Contains(snippet, StringComparison.Ordinal) && ++seen == occurrence) return i + 1;
        throw new ArgumentException($"'{snippet}' not found");
    }

    private static PtxRuntimeException Run(string body, string kernel, Dim3 grid, Dim3 block, int shared, params object[] args)
    {
        var module = Load(body);
        using var dev = new EmulatedDevice();
        var bufs = args.Select(a => a is int[] sizes ? (object)dev.Alloc(sizes[0]) : a).ToArray();
        return Assert.Throws<PtxRuntimeException>(() => dev.Launch(module, kernel, grid, block, shared, bufs))!;
    }

    private const string StoreIndex = """
        .visible .entry fill(.param .u64 out)
        {
            .reg .b32 %r<5>;
            .reg .b64 %rd<5>;
            ld.param.u64 %rd1, [out];
            mov.u32 %r1, %ctaid.x;
            mov.u32 %r2, %ntid.x;
            mov.u32 %r3, %tid.x;
            mad.lo.s32 %r4, %r1, %r2, %r3;
            mul.wide.u32 %rd2, %r4, 4;
            add.s64 %rd3, %rd1, %rd2;
            st.global.u32 [%rd3], %r4;
            ret;
        }
        """;

    [Test]
    public void OutOfBoundsStoreNamesTheFirstThreadPastTheEnd()
    {
        // 1000 elements but 4 blocks of 256 threads and no bounds check: thread 232 of block 3 writes element 1000.
        var e = Run(StoreIndex, "fill", 4, 256, 0, new[] { 4000 });
        Assert.That(e.Kind, Is.EqualTo(PtxDiagnostic.GlobalOutOfBounds));
        Assert.That(e.Kernel, Is.EqualTo("fill"));
        Assert.That(e.Line, Is.EqualTo(LineOf(StoreIndex, "st.global.u32")));
        Assert.That(e.Block, Is.EqualTo(new Dim3(3, 0, 0)));
        Assert.That(e.Thread, Is.EqualTo(new Dim3(232, 0, 0)));
        Assert.That(e.Message, Does.Contain("store to").And.Contain("0 byte(s) past the end of buffer #1").And.Contain("block (3,0,0), thread (232,0,0)"));
        Assert.That(e, Is.InstanceOf<EngineException>());
    }

    [Test]
    public void OutOfBoundsIsReportedDeterministicallyWhenBlocksRunInParallel()
    {
        var module = Load(StoreIndex);
        using var dev = new EmulatedDevice { MaxParallelBlocks = 4 };
        var buf = dev.Alloc(256 * 4 * 2 + 4);   // blocks 2.. all overflow; block 2, thread 1 is the first
        for (int i = 0; i < 3; i++)
        {
            var e = Assert.Throws<PtxRuntimeException>(() => dev.Launch(module, "fill", 16, 256, 0, buf))!;
            Assert.That((e.Block, e.Thread), Is.EqualTo((new Dim3(2, 0, 0), new Dim3(1, 0, 0))));
        }
    }

    [Test]
    public void LoadsBeforeAnAllocationFromFreedMemoryAndMisalignedAreReported()
    {
        const string body = """
            .visible .entry peek(.param .u64 p, .param .u64 off)
            {
                .reg .b32 %r1;
                .reg .b64 %rd<4>;
                ld.param.u64 %rd1, [p];
                ld.param.u64 %rd2, [off];
                add.s64 %rd3, %rd1, %rd2;
                ld.global.u32 %r1, [%rd3];
                st.global.u32 [%rd1], %r1;
                ret;
            }
            """;
        var module = Load(body);
        using var dev = new EmulatedDevice();
        var a = dev.Alloc(64);
        var before = Assert.Throws<PtxRuntimeException>(() => dev.Launch(module, "peek", 1, 1, 0, a, unchecked((ulong)-4L)))!;
        Assert.That(before.Kind, Is.EqualTo(PtxDiagnostic.GlobalOutOfBounds));
        Assert.That(before.Message, Does.Contain("4 byte(s) before the start of buffer #1"));
        Assert.That(before.Line, Is.EqualTo(LineOf(body, "ld.global.u32")));

        var mis = Assert.Throws<PtxRuntimeException>(() => dev.Launch(module, "peek", 1, 1, 0, a, 2UL))!;
        Assert.That(mis.Kind, Is.EqualTo(PtxDiagnostic.Misaligned));

        var b = dev.Alloc(64);
        var stale = a;
        dev.Free(a);
        var freed = Assert.Throws<PtxRuntimeException>(() => dev.Launch(module, "peek", 1, 1, 0, b, stale.Address - b.Address))!;
        Assert.That(freed.Message, Does.Contain("buffer #1 (64 bytes), which has been freed"));
        Assert.Throws<ArgumentValueException>(() => dev.Download<byte>(stale));
    }

    [Test]
    public void SharedOutOfBounds()
    {
        const string body = """
            .visible .entry smem_oob()
            {
                .reg .b32 %r<4>;
                .shared .align 4 .f32 tile[32];
                mov.u32 %r1, %tid.x;
                shl.b32 %r2, %r1, 2;
                mov.u32 %r3, tile;
                add.s32 %r3, %r3, %r2;
                st.shared.u32 [%r3], %r1;
                ret;
            }
            """;
        var e = Run(body, "smem_oob", 1, 64, 0);
        Assert.That(e.Kind, Is.EqualTo(PtxDiagnostic.SharedOutOfBounds));
        Assert.That(e.Thread, Is.EqualTo(new Dim3(32, 0, 0)));
        Assert.That(e.Line, Is.EqualTo(LineOf(body, "st.shared.u32")));
        Assert.That(e.Message, Does.Contain("shared offset 128").And.Contain("128 bytes of shared memory"));
    }

    [Test]
    public void MissingBarrierInAReductionIsARace()
    {
        string body = PtxKernels.BlockSum(loopBarrier: false);
        var e = Run(body, "block_sum", 1, 64, 256, new[] { 256 }, new[] { 4 }, 64);
        Assert.That(e.Kind, Is.EqualTo(PtxDiagnostic.SharedRace));
        // Thread 0 ran ahead through every step and read smem[1]; thread 1's first write to it is the race.
        Assert.That(e.Thread, Is.EqualTo(new Dim3(1, 0, 0)));
        Assert.That(e.Line, Is.EqualTo(LineOf(body, "st.shared.f32   [%r8], %f4;")));
        Assert.That(e.Message, Does.Contain("write of shared 'smem+4'").And.Contain("thread (0,0,0) read it at line " + LineOf(body, "ld.shared.f32   %f2, [%r11];")));
    }

    [Test]
    public void WriteWriteRaceAndAtomicsThatDoNotRace()
    {
        const string body = """
            .visible .entry ww(.param .u32 atomic)
            {
                .reg .pred %p1;
                .reg .b32 %r<4>;
                .shared .align 4 .u32 flag;
                ld.param.u32 %r1, [atomic];
                mov.u32 %r2, %tid.x;
                setp.ne.u32 %p1, %r2, 0;
                @%p1 bra WAIT;
                st.shared.u32 [flag], 0;
            WAIT:
                bar.sync 0;
                setp.ne.u32 %p1, %r1, 0;
                @%p1 bra ATOMIC;
                st.shared.u32 [flag], %r2;
                ret;
            ATOMIC:
                atom.shared.add.u32 %r3, [flag], 1;
                ret;
            }
            """;
        var e = Run(body, "ww", 1, 8, 0, 0);
        Assert.That(e.Kind, Is.EqualTo(PtxDiagnostic.SharedRace));
        Assert.That(e.Thread, Is.EqualTo(new Dim3(1, 0, 0)));
        Assert.That(e.Message, Does.Contain("thread (0,0,0) wrote it"));
        var module = Load(body);
        using var dev = new EmulatedDevice();
        Assert.DoesNotThrow(() => dev.Launch(module, "ww", 1, 8, 0, 1));
    }

    [Test]
    public void BarrierInsideADivergentBranch()
    {
        const string body = """
            .visible .entry divergent_barrier()
            {
                .reg .pred %p1;
                .reg .b32 %r1;
                mov.u32 %r1, %tid.x;
                setp.ge.u32 %p1, %r1, 16;
                @%p1 bra SKIP;
                bar.sync 0;
            SKIP:
                bar.sync 0;
                ret;
            }
            """;
        var e = Run(body, "divergent_barrier", 1, 32, 0);
        Assert.That(e.Kind, Is.EqualTo(PtxDiagnostic.BarrierDivergence));
        Assert.That(e.Thread, Is.EqualTo(new Dim3(16, 0, 0)));
        Assert.That(e.Line, Is.EqualTo(LineOf(body, "bar.sync 0;", 2)));
        Assert.That(e.Message, Does.Contain($"thread (0,0,0) waits at the barrier on line {LineOf(body, "bar.sync 0;", 1)}"));
    }

    [Test]
    public void ReadOfUnwrittenSharedMemory()
    {
        const string body = """
            .visible .entry uninit(.param .u64 out)
            {
                .reg .b32 %r<4>;
                .reg .b64 %rd<2>;
                .shared .align 4 .u32 buf[64];
                ld.param.u64 %rd1, [out];
                mov.u32 %r1, %tid.x;
                mov.u32 %r2, buf;
                shl.b32 %r3, %r1, 2;
                add.s32 %r2, %r2, %r3;
                ld.shared.u32 %r3, [%r2];
                st.global.u32 [%rd1], %r3;
                ret;
            }
            """;
        var e = Run(body, "uninit", 2, 64, 0, new[] { 4 });
        Assert.That(e.Kind, Is.EqualTo(PtxDiagnostic.UninitializedSharedRead));
        Assert.That((e.Block, e.Thread), Is.EqualTo((new Dim3(0, 0, 0), new Dim3(0, 0, 0))));
        Assert.That(e.Line, Is.EqualTo(LineOf(body, "ld.shared.u32")));
        Assert.That(e.Message, Does.Contain("'buf+0'"));
    }

    [Test]
    public void SharedMemoryWrittenByAnEarlierBlockDoesNotCountAsWritten()
    {
        // Block 0 writes buf; block 1 only reads: each block has its own shared memory.
        const string body = """
            .visible .entry per_block()
            {
                .reg .pred %p1;
                .reg .b32 %r<3>;
                .shared .align 4 .u32 buf;
                mov.u32 %r1, %ctaid.x;
                setp.ne.u32 %p1, %r1, 0;
                @%p1 bra READ;
                st.shared.u32 [buf], 1;
            READ:
                ld.shared.u32 %r2, [buf];
                ret;
            }
            """;
        var module = Load(body);
        using var dev = new EmulatedDevice { MaxParallelBlocks = 1 };
        var e = Assert.Throws<PtxRuntimeException>(() => dev.Launch(module, "per_block", 2, 1, 0))!;
        Assert.That((e.Kind, e.Block), Is.EqualTo((PtxDiagnostic.UninitializedSharedRead, new Dim3(1, 0, 0))));
    }

    [Test]
    public void WarpShuffleWithAnExitedLaneInTheMask()
    {
        const string body = """
            .visible .entry bad_mask()
            {
                .reg .pred %p1;
                .reg .b32 %r<3>;
                mov.u32 %r1, %laneid;
                setp.eq.u32 %p1, %r1, 5;
                @%p1 exit;
                shfl.sync.bfly.b32 %r2, %r1, 1, 0x1f, 0xffffffff;
                ret;
            }
            """;
        var e = Run(body, "bad_mask", 1, 32, 0);
        Assert.That(e.Kind, Is.EqualTo(PtxDiagnostic.WarpSync));
        Assert.That(e.Message, Does.Contain("lane 5").And.Contain("exited"));
        Assert.That(e.Line, Is.EqualTo(LineOf(body, "shfl.sync")));
    }

    [Test]
    public void StoresToConstantMemoryAndLocalOverrunsAreReported()
    {
        const string body = """
            .const .align 4 .u32 table[4] = {1, 2, 3, 4};

            .visible .entry misuse(.param .u32 which)
            {
                .local .align 4 .b8 scratch[8];
                .reg .pred %p1;
                .reg .b32 %r<3>;
                .reg .b64 %rd<3>;
                ld.param.u32 %r1, [which];
                setp.eq.u32 %p1, %r1, 0;
                @%p1 bra LOCAL;
                mov.u64 %rd1, table;
                st.u32 [%rd1+4], %r1;
                ret;
            LOCAL:
                mov.u64 %rd2, scratch;
                st.local.u32 [%rd2+8], %r1;
                ret;
            }
            """;
        var c = Run(body, "misuse", 1, 1, 0, 1);
        Assert.That(c.Kind, Is.EqualTo(PtxDiagnostic.GlobalOutOfBounds));
        Assert.That(c.Message, Does.Contain(".const variable 'table'").And.Contain("read-only"));
        Assert.That(c.Line, Is.EqualTo(LineOf(body, "st.u32")));
        var l = Run(body, "misuse", 1, 1, 0, 0);
        Assert.That(l.Kind, Is.EqualTo(PtxDiagnostic.LocalOutOfBounds));
        Assert.That(l.Line, Is.EqualTo(LineOf(body, "st.local.u32")));
    }

    [Test]
    public void EndlessLoopHitsTheInstructionLimit()
    {
        const string body = """
            .visible .entry spin()
            {
            L:
                bra.uni L;
            }
            """;
        var module = Load(body);
        using var dev = new EmulatedDevice { InstructionLimitPerThread = 10_000 };
        var e = Assert.Throws<PtxRuntimeException>(() => dev.Launch(module, "spin", 1, 1, 0))!;
        Assert.That(e.Kind, Is.EqualTo(PtxDiagnostic.InstructionLimit));
    }

    // ------------------------------------------------------------------ load-time rejections

    private static PtxException LoadError(string body) => Assert.Throws<PtxException>(() => Load(body))!;

    private static string Kernel(string lines) => $$"""
        .visible .entry k(.param .u64 p)
        {
            .reg .b32 %r<4>;
            .reg .f32 %f<4>;
            .reg .b64 %rd<4>;
            .reg .pred %p<2>;
        {{lines}}
            ret;
        }
        """;

    [Test]
    public void UnsupportedInstructionIsRejectedWithLineColumnAndInstruction()
    {
        string body = Kernel("    tex.1d.v4.f32.s32 {%f0, %f1, %f2, %f3}, [tex, {%r1}];");
        var e = LoadError(body);
        Assert.That(e.Line, Is.EqualTo(LineOf(body, "tex.1d")));
        Assert.That(e.Column, Is.EqualTo(5));
        Assert.That(e.Instruction, Is.EqualTo("tex.1d.v4.f32.s32"));
        Assert.That(e.Message, Does.Contain($"line {e.Line}, column 5").And.Contain("unsupported instruction"));
        Assert.That(e, Is.InstanceOf<EngineException>());
    }

    [TestCase("    mul24.lo.s32 %r1, %r2, %r3;", "mul24.lo.s32", "unsupported instruction")]
    [TestCase("    ld.global.L1::evict_last.f32 %f1, [%rd1];", "ld.global.L1::evict_last.f32", "modifier '.L1::evict_last'")]
    [TestCase("    add.s32 %r1, %r2, %f1;", "add.s32", "'%f1' is .f32")]
    [TestCase("    add.s32 %r1, %r2, %r9;", "add.s32", "'%r9' is not declared")]
    [TestCase("    cvt.s32.f32 %r1, %f1;", "cvt.s32.f32", "integer rounding modifier")]
    [TestCase("    div.f32 %f1, %f2, %f3;", "div.f32", ".approx, .full or a rounding modifier")]
    [TestCase("    add.f32 %f1, %f2, 1;", "add.f32", "integer literal")]
    [TestCase("    bra.uni NOWHERE;", "bra.uni", "label 'NOWHERE' is not defined")]
    [TestCase("    add.u32 %r1, %tid.x, 1;", "add.u32", "special register")]
    [TestCase("    setp.lt.b32 %p1, %r1, %r2;", "setp.lt.b32", "bit-size type")]
    [TestCase("    shfl.down.b32 %r1, %r2, 1, 31;", "shfl.down.b32", "shfl.sync")]
    [TestCase("    bar.sync 0, 64;", "bar.sync", "thread count")]
    [TestCase("    atom.global.max.f32 %f1, [%rd1], %f2;", "atom.global.max.f32", "does not take .f32")]
    [TestCase("    mov.u32 %r1, %clock;", "mov.u32", "not deterministic")]
    [TestCase("    add.f16 %r1, %r2, %r3;", "add.f16", "'.f16' is not supported")]
    public void OtherLoadErrorsNameTheInstruction(string line, string instruction, string message)
    {
        string body = Kernel(line);
        var e = LoadError(body);
        Assert.That(e.Instruction, Is.EqualTo(instruction));
        Assert.That(e.Line, Is.EqualTo(LineOf(body, line.Trim())));
        Assert.That(e.Message, Does.Contain(message));
    }

    [Test]
    public void SyntaxAndStructureErrors()
    {
        Assert.That(LoadError(Kernel("    add.s32 %r1, %r2, %r3\n    mov.u32 %r1, 0;")).Message, Does.Contain("expected ';'"));
        Assert.That(LoadError(Kernel("    /* unterminated")).Message, Does.Contain("unterminated"));
        Assert.That(LoadError(Kernel("    mov.f32 %f1, -0f3F800000;")).Message, Does.Contain("cannot be negated"));
        Assert.That(Assert.Throws<PtxException>(() => PtxModule.Load(".target sm_80\n.address_size 64\n"))!.Message, Does.Contain(".version"));
        Assert.That(LoadError(".section .debug_info { }").Message, Does.Contain("unsupported directive '.section'"));
        var rec = LoadError("""
            .func f()
            {
                call.uni g;
                ret;
            }
            .func g()
            {
                call.uni f;
                ret;
            }
            .visible .entry k()
            {
                call.uni f;
                ret;
            }
            """);
        Assert.That(rec.Message, Does.Contain("recursive call"));
    }
}
