namespace Engine.Tests.Ptx;

/// <summary>Small complete kernels, written as nvcc would emit them, shared by the kernel and diagnostic tests.</summary>
internal static class PtxKernels
{
    /// <summary>c[i] = a[i] + b[i] for i &lt; n; one thread per element, the tail of the last block idle.</summary>
    public const string VectorAdd = """
        .visible .entry vadd(
            .param .u64 vadd_param_0,
            .param .u64 vadd_param_1,
            .param .u64 vadd_param_2,
            .param .u32 vadd_param_3
        )
        {
            .reg .pred  %p<2>;
            .reg .b32   %r<6>;
            .reg .f32   %f<4>;
            .reg .b64   %rd<11>;

            ld.param.u64    %rd1, [vadd_param_0];
            ld.param.u64    %rd2, [vadd_param_1];
            ld.param.u64    %rd3, [vadd_param_2];
            ld.param.u32    %r2, [vadd_param_3];
            mov.u32         %r3, %ctaid.x;
            mov.u32         %r4, %ntid.x;
            mov.u32         %r5, %tid.x;
            mad.lo.s32      %r1, %r3, %r4, %r5;
            setp.ge.u32     %p1, %r1, %r2;
            @%p1 bra        $L__BB0_2;
            cvta.to.global.u64  %rd4, %rd1;
            cvta.to.global.u64  %rd5, %rd2;
            cvta.to.global.u64  %rd6, %rd3;
            mul.wide.u32    %rd7, %r1, 4;
            add.s64         %rd8, %rd4, %rd7;
            add.s64         %rd9, %rd5, %rd7;
            add.s64         %rd10, %rd6, %rd7;
            ld.global.f32   %f1, [%rd8];
            ld.global.f32   %f2, [%rd9];
            add.f32         %f3, %f1, %f2;
            st.global.f32   [%rd10], %f3;
        $L__BB0_2:
            ret;
        }
        """;

    /// <summary>
    /// out[block] = sum of in[block*ntid .. +ntid) (missing elements count 0), by a tree reduction in dynamic shared
    /// memory (ntid floats, ntid a power of two) with bar.sync between the steps. With <paramref name="loopBarrier"/>
    /// false the barrier inside the loop is missing (a race).
    /// </summary>
    public static string BlockSum(bool loopBarrier = true) => $$"""
        .extern .shared .align 4 .b8 smem[];

        .visible .entry block_sum(
            .param .u64 in,
            .param .u64 out,
            .param .u32 n
        )
        {
            .reg .pred  %p<4>;
            .reg .b32   %r<12>;
            .reg .f32   %f<6>;
            .reg .b64   %rd<9>;

            ld.param.u64    %rd1, [in];
            ld.param.u64    %rd2, [out];
            ld.param.u32    %r1, [n];
            mov.u32         %r2, %tid.x;
            mov.u32         %r3, %ctaid.x;
            mov.u32         %r4, %ntid.x;
            mad.lo.s32      %r5, %r3, %r4, %r2;
            mov.f32         %f1, 0f00000000;
            setp.ge.u32     %p1, %r5, %r1;
            @%p1 bra        STORE;
            cvta.to.global.u64  %rd3, %rd1;
            mul.wide.u32    %rd4, %r5, 4;
            add.s64         %rd5, %rd3, %rd4;
            ld.global.f32   %f1, [%rd5];
        STORE:
            mov.u32         %r6, smem;
            shl.b32         %r7, %r2, 2;
            add.s32         %r8, %r6, %r7;
            st.shared.f32   [%r8], %f1;
            bar.sync        0;
            shr.u32         %r9, %r4, 1;
        LOOP:
            setp.eq.s32     %p2, %r9, 0;
            @%p2 bra        DONE;
            setp.ge.u32     %p3, %r2, %r9;
            @%p3 bra        SKIP;
            shl.b32         %r10, %r9, 2;
            add.s32         %r11, %r8, %r10;
            ld.shared.f32   %f2, [%r11];
            ld.shared.f32   %f3, [%r8];
            add.f32         %f4, %f3, %f2;
            st.shared.f32   [%r8], %f4;
        SKIP:
            {{(loopBarrier ? "bar.sync        0;" : "// (no barrier)")}}
            shr.u32         %r9, %r9, 1;
            bra.uni         LOOP;
        DONE:
            setp.ne.s32     %p2, %r2, 0;
            @%p2 bra        END;
            ld.shared.f32   %f5, [smem];
            cvta.to.global.u64  %rd6, %rd2;
            mul.wide.u32    %rd7, %r3, 4;
            add.s64         %rd8, %rd6, %rd7;
            st.global.f32   [%rd8], %f5;
        END:
            ret;
        }
        """;

    /// <summary>out[i] = sum of in over i's warp, by a butterfly of shfl.sync.bfly (every lane gets the sum).</summary>
    public const string WarpSum = """
        .visible .entry warp_sum(
            .param .u64 in,
            .param .u64 out
        )
        {
            .reg .b32   %r<8>;
            .reg .f32   %f<3>;
            .reg .b64   %rd<8>;

            ld.param.u64    %rd1, [in];
            ld.param.u64    %rd2, [out];
            mov.u32         %r1, %ctaid.x;
            mov.u32         %r2, %ntid.x;
            mov.u32         %r3, %tid.x;
            mad.lo.s32      %r4, %r1, %r2, %r3;
            cvta.to.global.u64  %rd3, %rd1;
            mul.wide.u32    %rd4, %r4, 4;
            add.s64         %rd5, %rd3, %rd4;
            ld.global.f32   %f1, [%rd5];
            mov.b32         %r5, %f1;
            shfl.sync.bfly.b32  %r6, %r5, 16, 31, -1;
            mov.b32         %f2, %r6;
            add.f32         %f1, %f1, %f2;
            mov.b32         %r5, %f1;
            shfl.sync.bfly.b32  %r6, %r5, 8, 31, -1;
            mov.b32         %f2, %r6;
            add.f32         %f1, %f1, %f2;
            mov.b32         %r5, %f1;
            shfl.sync.bfly.b32  %r6, %r5, 4, 31, -1;
            mov.b32         %f2, %r6;
            add.f32         %f1, %f1, %f2;
            mov.b32         %r5, %f1;
            shfl.sync.bfly.b32  %r6, %r5, 2, 31, -1;
            mov.b32         %f2, %r6;
            add.f32         %f1, %f1, %f2;
            mov.b32         %r5, %f1;
            shfl.sync.bfly.b32  %r6, %r5, 1, 31, -1;
            mov.b32         %f2, %r6;
            add.f32         %f1, %f1, %f2;
            cvta.to.global.u64  %rd6, %rd2;
            add.s64         %rd7, %rd6, %rd4;
            st.global.f32   [%rd7], %f1;
            ret;
        }
        """;

    /// <summary>
    /// bins[v] += count of bytes equal to v in data[0..n): each block counts into 256 shared bins with
    /// atom.shared.add, then merges them into the global bins with red.global.add (grid-stride loop).
    /// </summary>
    public const string Histogram = """
        .visible .entry histogram(
            .param .u64 data,
            .param .u32 n,
            .param .u64 bins
        )
        {
            .reg .pred  %p<3>;
            .reg .b32   %r<16>;
            .reg .b64   %rd<9>;
            .shared .align 4 .b8 hist[1024];

            ld.param.u64    %rd1, [data];
            ld.param.u32    %r1, [n];
            ld.param.u64    %rd2, [bins];
            mov.u32         %r2, %tid.x;
            mov.u32         %r3, %ntid.x;
            mov.u32         %r4, %ctaid.x;
            mov.u32         %r5, %nctaid.x;
            mov.u32         %r6, hist;
            mov.u32         %r7, %r2;
        ZERO:
            setp.ge.u32     %p1, %r7, 256;
            @%p1 bra        ZERO_DONE;
            shl.b32         %r8, %r7, 2;
            add.s32         %r9, %r6, %r8;
            st.shared.u32   [%r9], 0;
            add.s32         %r7, %r7, %r3;
            bra.uni         ZERO;
        ZERO_DONE:
            bar.sync        0;
            mad.lo.s32      %r10, %r4, %r3, %r2;
            mul.lo.s32      %r11, %r5, %r3;
            cvta.to.global.u64  %rd3, %rd1;
        COUNT:
            setp.ge.u32     %p2, %r10, %r1;
            @%p2 bra        COUNT_DONE;
            cvt.u64.u32     %rd4, %r10;
            add.s64         %rd5, %rd3, %rd4;
            ld.global.u8    %r12, [%rd5];
            shl.b32         %r13, %r12, 2;
            add.s32         %r14, %r6, %r13;
            atom.shared.add.u32 %r15, [%r14], 1;
            add.s32         %r10, %r10, %r11;
            bra.uni         COUNT;
        COUNT_DONE:
            bar.sync        0;
            cvta.to.global.u64  %rd6, %rd2;
            mov.u32         %r7, %r2;
        MERGE:
            setp.ge.u32     %p1, %r7, 256;
            @%p1 bra        END;
            shl.b32         %r8, %r7, 2;
            add.s32         %r9, %r6, %r8;
            ld.shared.u32   %r12, [%r9];
            mul.wide.u32    %rd7, %r7, 4;
            add.s64         %rd8, %rd6, %rd7;
            red.global.add.u32  [%rd8], %r12;
            add.s32         %r7, %r7, %r3;
            bra.uni         MERGE;
        END:
            ret;
        }
        """;
}
