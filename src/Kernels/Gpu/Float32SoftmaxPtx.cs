namespace Engine.Kernels.Gpu;

/// <summary>
/// Writes <c>Kernels/softmax.ptx</c>, the float32 softmax kernels (the C# port of the former softmax_gen.py, so every
/// generated PTX comes from one language). The warp kernels keep K values per lane in named registers (PTX has no
/// register arrays), so their bodies are the same few instructions repeated K times: this writes them out instead of a
/// person. The block and simple kernels are fixed text. The backend loads the committed file (an embedded resource);
/// the test <c>EmbeddedPtxTests.SoftmaxPtxIsWhatItsGeneratorWrites</c> fails when the two differ and rewrites the file
/// when the environment variable ENGINE_WRITE_PTX is 1. Edit this file, not the .ptx.
/// </summary>
internal static class Float32SoftmaxPtx
{
    private const string NegInf = "0fFF800000";
    private const string Log2E = "0f3FB8AA3B";
    private const string Ln2 = "0f3F317218";
    private const string Full = "0xffffffff";

    /// <summary>The text of softmax.ptx.</summary>
    public static string Text()
    {
        var parts = new List<string> { Header };
        foreach (int k in new[] { 4, 16, 32 }) parts.Add(WarpForward(k));
        // a backward lane holds 2K values: K = 32 would take 117 registers; the cached block kernel does n > 512
        foreach (int k in new[] { 4, 16 }) parts.Add(WarpBackward(k));
        parts.Add(BlockForward.Replace("{WARP_MERGE}", WarpMerge()));
        parts.Add(BlockBackward.Replace("{WARP_SUM}", WarpSum()));
        parts.Add(SimpleForward);
        parts.Add(SimpleBackward);
        return string.Join("\n", parts);
    }

    // row, lane, lim = n − lane, and byte address (row·n + lane)·4 added to each pointer parameter
    private static void WarpSetup(List<string> lines, params (string Reg, string Name)[] pointers)
    {
        lines.AddRange(
        [
            "    mov.u32         %r1, %tid.x;",
            "    shr.u32         %r2, %r1, 5;                // warp in block",
            "    and.b32         %r3, %r1, 31;               // lane",
            "    mov.u32         %r4, %ctaid.x;",
            "    mov.u32         %r5, %ntid.x;",
            "    shr.u32         %r5, %r5, 5;",
            "    mad.lo.s32      %r6, %r4, %r5, %r2;         // row (uniform over the warp)",
            "    ld.param.u32    %r7, [rows];",
            "    setp.ge.u32     %p1, %r6, %r7;",
            "    @%p1 bra        DONE;",
            "    ld.param.u32    %r8, [n];",
            "    sub.s32         %r9, %r8, %r3;              // lim = n − lane: x[lane + 32k] exists iff 32k < lim",
            "    mul.wide.u32    %rd1, %r6, %r8;",
            "    cvt.u64.u32     %rd2, %r3;",
            "    add.s64         %rd1, %rd1, %rd2;",
            "    shl.b64         %rd1, %rd1, 2;              // byte offset of (row, lane)",
        ]);
        foreach (var (reg, name) in pointers)
            lines.AddRange([$"    ld.param.u64    {reg}, [{name}];", $"    add.s64         {reg}, {reg}, %rd1;"]);
    }

    private static void ShflReduce(List<string> lines, string v, string t, string op)
    {
        foreach (int off in new[] { 16, 8, 4, 2, 1 })
            lines.AddRange([$"    shfl.sync.bfly.b32 {t}, {v}, {off}, 31, {Full};", $"    {op}.f32         {v}, {v}, {t};"]);
    }

    private static string Guard(int k) => $"    setp.gt.s32     %p2, %r9, {32 * k};";

    private static string WarpForward(int kk)
    {
        var l = new List<string>
        {
            $"// One warp per row of n ≤ {32 * kk}: lane l holds x[l + 32k], k < {kk}; max, then Σ, by shfl; one read, one write.",
            $".visible .entry softmax_warp{kk}_f32(",
            "    .param .u64 dst, .param .u64 src, .param .u32 rows, .param .u32 n,",
            "    .param .f32 k2, .param .f32 k, .param .u32 log)",
            "{",
            "    .reg .pred      %p<3>;",
            "    .reg .b32       %r<12>;",
            "    .reg .b64       %rd<6>;",
            "    .reg .f32       %f<10>;",
            $"    .reg .f32       %x<{kk}>;",
            "",
        };
        WarpSetup(l, ("%rd3", "src"), ("%rd4", "dst"));
        l.Add("    // load the row: lane holds x[lane + 32k] (−inf past the end, which adds nothing below)");
        for (int k = 0; k < kk; k++) l.AddRange([Guard(k), $"    mov.f32         %x{k}, {NegInf};", $"    @%p2 ld.global.nc.f32 %x{k}, [%rd3+{128 * k}];"]);
        l.Add("    // row max");
        l.Add("    mov.f32         %f1, %x0;");
        for (int k = 1; k < kk; k++) l.Add($"    max.f32         %f1, %f1, %x{k};");
        ShflReduce(l, "%f1", "%f2", "max");
        l.AddRange(["    ld.param.f32    %f3, [k2];",
            "    mov.f32         %f4, 0f00000000;            // Σ",
            "    ld.param.u32    %r10, [log];",
            "    setp.ne.u32     %p1, %r10, 0;",
            "    @%p1 bra        LOGSOFTMAX;",
            "    // softmax: x ← 2^((x − max)·k2), Σ, then x·(1/Σ)"]);
        for (int k = 0; k < kk; k++)
            l.AddRange([$"    sub.f32         %f5, %x{k}, %f1;", "    mul.f32         %f5, %f5, %f3;",
                $"    ex2.approx.ftz.f32 %x{k}, %f5;", $"    add.f32         %f4, %f4, %x{k};"]);
        ShflReduce(l, "%f4", "%f2", "add");
        l.Add("    rcp.approx.ftz.f32 %f6, %f4;");
        for (int k = 0; k < kk; k++) l.AddRange([$"    mul.f32         %x{k}, %x{k}, %f6;", Guard(k), $"    @%p2 st.global.f32 [%rd4+{128 * k}], %x{k};"]);
        l.AddRange(["    bra             DONE;", "LOGSOFTMAX:", "    // log-softmax: (x − max)·k − ln Σ"]);
        for (int k = 0; k < kk; k++)
            l.AddRange([$"    sub.f32         %f5, %x{k}, %f1;", "    mul.f32         %f5, %f5, %f3;",
                "    ex2.approx.ftz.f32 %f5, %f5;", "    add.f32         %f4, %f4, %f5;"]);
        ShflReduce(l, "%f4", "%f2", "add");
        l.AddRange(["    lg2.approx.ftz.f32 %f6, %f4;",
            $"    mul.f32         %f6, %f6, {Ln2};",
            "    neg.f32         %f6, %f6;                   // −ln Σ",
            "    ld.param.f32    %f7, [k];"]);
        for (int k = 0; k < kk; k++)
            l.AddRange([$"    sub.f32         %f5, %x{k}, %f1;", "    fma.rn.f32      %f5, %f5, %f7, %f6;", Guard(k),
                $"    @%p2 st.global.f32 [%rd4+{128 * k}], %f5;"]);
        l.AddRange(["DONE:", "    ret;", "}", ""]);
        return string.Join("\n", l);
    }

    private static string WarpBackward(int kk)
    {
        var l = new List<string>
        {
            $"// One warp per row of n ≤ {32 * kk}: lane l holds g and y at l + 32k, k < {kk}; Σ by shfl; g and y read once, dx written once.",
            $".visible .entry softmax_backward_warp{kk}_f32(",
            "    .param .u64 dst, .param .u64 grad, .param .u64 y, .param .u32 rows, .param .u32 n,",
            "    .param .f32 k, .param .u32 log)",
            "{",
            "    .reg .pred      %p<3>;",
            "    .reg .b32       %r<12>;",
            "    .reg .b64       %rd<6>;",
            "    .reg .f32       %f<10>;",
            $"    .reg .f32       %g<{kk}>;",
            $"    .reg .f32       %y<{kk}>;",
            "",
        };
        WarpSetup(l, ("%rd3", "grad"), ("%rd5", "y"), ("%rd4", "dst"));
        l.Add("    // load g and y: lane holds element lane + 32k (0 past the end, which adds nothing below)");
        for (int k = 0; k < kk; k++)
            l.AddRange([Guard(k), $"    mov.f32         %g{k}, 0f00000000;", $"    mov.f32         %y{k}, 0f00000000;",
                $"    @%p2 ld.global.nc.f32 %g{k}, [%rd3+{128 * k}];", $"    @%p2 ld.global.nc.f32 %y{k}, [%rd5+{128 * k}];"]);
        l.AddRange(["    ld.param.f32    %f3, [k];",
            "    mov.f32         %f4, 0f00000000;",
            "    ld.param.u32    %r10, [log];",
            "    setp.ne.u32     %p1, %r10, 0;",
            "    @%p1 bra        LOGSOFTMAX;",
            "    // softmax: dx = k·y·(g − Σ g·y)"]);
        for (int k = 0; k < kk; k++) l.Add($"    fma.rn.f32      %f4, %g{k}, %y{k}, %f4;");
        ShflReduce(l, "%f4", "%f2", "add");
        for (int k = 0; k < kk; k++)
            l.AddRange([$"    sub.f32         %f5, %g{k}, %f4;", $"    mul.f32         %f5, %f5, %y{k};", "    mul.f32         %f5, %f5, %f3;",
                Guard(k), $"    @%p2 st.global.f32 [%rd4+{128 * k}], %f5;"]);
        l.AddRange(["    bra             DONE;", "LOGSOFTMAX:", "    // log-softmax: dx = k·(g − e^y·Σ g)"]);
        for (int k = 0; k < kk; k++) l.Add($"    add.f32         %f4, %f4, %g{k};");
        ShflReduce(l, "%f4", "%f2", "add");
        l.Add("    neg.f32         %f4, %f4;");
        for (int k = 0; k < kk; k++)
            l.AddRange([$"    mul.f32         %f5, %y{k}, {Log2E};", "    ex2.approx.ftz.f32 %f5, %f5;",
                $"    fma.rn.f32      %f5, %f5, %f4, %g{k};", "    mul.f32         %f5, %f5, %f3;",
                Guard(k), $"    @%p2 st.global.f32 [%rd4+{128 * k}], %f5;"]);
        l.AddRange(["DONE:", "    ret;", "}", ""]);
        return string.Join("\n", l);
    }

    // (m, s) ← merge of (m, s) and (mo, so): M = max; s·2^((m − M)·k2) + so·2^((mo − M)·k2). max(·, −inf) turns the NaN of
    // (−inf) − (−inf) (both parts still empty) into −inf, so an empty part weighs 2^−inf = 0.
    private static string[] Merge(string m, string s, string mo, string so, string k2, string t1, string t2) =>
    [
        $"    max.f32         {t1}, {m}, {mo};",
        $"    sub.f32         {t2}, {m}, {t1};",
        $"    mul.f32         {t2}, {t2}, {k2};",
        $"    max.f32         {t2}, {t2}, {NegInf};",
        $"    ex2.approx.ftz.f32 {t2}, {t2};",
        $"    mul.f32         {s}, {s}, {t2};",
        $"    sub.f32         {t2}, {mo}, {t1};",
        $"    mul.f32         {t2}, {t2}, {k2};",
        $"    max.f32         {t2}, {t2}, {NegInf};",
        $"    ex2.approx.ftz.f32 {t2}, {t2};",
        $"    fma.rn.f32      {s}, {so}, {t2}, {s};",
        $"    mov.f32         {m}, {t1};",
    ];

    private static string WarpMerge()
    {
        var l = new List<string>();
        foreach (int off in new[] { 16, 8, 4, 2, 1 })
        {
            l.AddRange([$"    shfl.sync.bfly.b32 %f12, %f2, {off}, 31, {Full};", $"    shfl.sync.bfly.b32 %f13, %f3, {off}, 31, {Full};"]);
            l.AddRange(Merge("%f2", "%f3", "%f12", "%f13", "%f1", "%f14", "%f15"));
        }
        return string.Join("\n", l);
    }

    private static string WarpSum()
    {
        var l = new List<string>();
        ShflReduce(l, "%f1", "%f12", "add");
        return string.Join("\n", l);
    }

    private const string Header = """
// softmax.ptx: softmax and log-softmax of scale·x over the last dim of contiguous float32 rows (scale = 1/T for a
// temperature T), forward and backward. Generated by Float32SoftmaxPtx.cs (the warp kernels are unrolled); edit that file.
//
// Forward y = softmax(scale·x) = e^(scale·(x − max)) / Σ e^(scale·(x − max)); log-softmax scale·(x − max) − ln Σ(..).
// The exponential is ex2.approx.ftz.f32 with log2(e) folded into the scale: e^(scale·d) = 2^(d·k2), k2 = scale·log2(e).
// d = x − max is formed first (exact near the max, where it matters) and multiplied by k2 after; the fully folded
// x·k2 − max·k2 would lose about ulp(max·k2) ≈ 1e-3 of the exponent at |x| = 1e4. ln Σ is lg2.approx(Σ)·ln 2.
// Backward (y is the forward output, g its gradient): dx = scale·y·(g − Σ g·y), log-softmax dx = scale·(g − e^y·Σ g).
//
// Kernels, chosen by row length n (GpuBackend.Softmax.cs):
//   softmax_warp{4,16,32}_f32 / softmax_backward_warp{4,16}_f32: n ≤ 32·K. One warp per row, 8 rows per block of
//     256 threads, grid = ceil(rows / 8). Lane l holds x[l + 32k], k < K, in registers (coalesced loads), max and sum
//     by shfl.bfly; one read and one write per element (backward: g and y read once, dx written once).
//   softmax_block_f32 / softmax_backward_block_f32: one block per row (grid = rows, block = a multiple of 32, at most
//     1024). One read pass computes max and sum together online (Milakov & Gimelshein 2018: a running (m, s) per
//     thread, rescaled by 2^((m_old − m_new)·k2) when the max grows, merged across threads the same way). With
//     cached = 1 the pass also keeps the row in dynamic shared memory (n floats; backward 2n: g then y) and the output
//     pass reads it from there: one global read and one write per element (rows that fit on chip). With cached = 0
//     (long rows) the output pass reads the row again: two reads and one write per element. Each thread reads back
//     only what it wrote itself, so the cache needs no barrier. Dynamic shared memory: cached ? n·4 (backward n·8) : 0.
//   softmax_simple_f32 / softmax_backward_simple_f32: the version to learn from and compare with. One thread per row,
//     block 256, grid = ceil(rows / 256); forward three passes over the row (max, sum, write: three reads and one write
//     per element), backward two (Σ, write). Neighbouring threads read addresses n·4 bytes apart, so every load is its
//     own memory transaction: it shows why the row has to be spread over a warp or a block.
// Bytes per element (the benchmark's count): forward 8 (read x, write y), backward 12 (read g and y, write dx); the
// long-row forward and uncached backward read twice (12 and 20 moved, 8 and 12 compulsory).
// An all −inf row gives NaN like the CPU backend; −inf entries of other rows give 0 (log-softmax −inf).
//
// Parameters: forward (dst, src, rows, n, k2 = scale·log2e, k = scale, log [, cached]); backward (dst, grad, y, rows,
// n, k = scale, log [, cached]); log ≠ 0 selects log-softmax.

.version 7.0
.target sm_80
.address_size 64
""" + "\n";

    private const string BlockForward = """
// Shared memory of the block kernels (PTX declares it at module scope): per-warp partials, the merged result, and the
// dynamic row cache (forward: x[0..n); backward: g[0..n) then y[0..n)).
.shared .align 4 .f32 red_m[32];
.shared .align 4 .f32 red_s[32];
.shared .align 4 .f32 res[2];
.extern .shared .align 16 .b8 row_cache[];

// One block per row: online (max, Σ) in one read pass (caching the row in shared memory when cached ≠ 0), merged over
// warps and the block, then the output pass from the cache (or a second read of the row).
.visible .entry softmax_block_f32(
    .param .u64 dst, .param .u64 src, .param .u32 rows, .param .u32 n,
    .param .f32 k2, .param .f32 k, .param .u32 log, .param .u32 cached)
{
    .reg .pred      %p<4>;
    .reg .b32       %r<16>;
    .reg .b64       %rd<10>;
    .reg .f32       %f<16>;

    mov.u32         %r1, %tid.x;
    mov.u32         %r2, %ntid.x;
    mov.u32         %r3, %ctaid.x;                  // row
    ld.param.u32    %r4, [n];
    ld.param.u32    %r5, [cached];
    setp.ne.u32     %p3, %r5, 0;
    mul.wide.u32    %rd1, %r3, %r4;
    shl.b64         %rd1, %rd1, 2;
    ld.param.u64    %rd2, [src];
    add.s64         %rd2, %rd2, %rd1;               // this row of src
    ld.param.u64    %rd3, [dst];
    add.s64         %rd3, %rd3, %rd1;               // this row of dst
    mov.u64         %rd4, row_cache;
    ld.param.f32    %f1, [k2];
    // pass 1: online (m, s) over x[tid + j·ntid], caching x in shared memory when asked
    mov.f32         %f2, 0fFF800000;                  // m
    mov.f32         %f3, 0f00000000;                // s = Σ 2^((x − m)·k2)
    mov.u32         %r6, %r1;
    setp.ge.u32     %p1, %r6, %r4;
    @%p1 bra        PASS1_DONE;
PASS1:
    mul.wide.u32    %rd5, %r6, 4;
    add.s64         %rd6, %rd2, %rd5;
    ld.global.nc.f32 %f4, [%rd6];
    add.s64         %rd7, %rd4, %rd5;
    @%p3 st.shared.f32 [%rd7], %f4;
    // one exponential per element: e = 2^((min − max)·k2); s = x > m ? s·e + 1 : s + e
    max.f32         %f5, %f2, %f4;
    min.f32         %f6, %f2, %f4;
    sub.f32         %f6, %f6, %f5;
    mul.f32         %f6, %f6, %f1;
    max.f32         %f6, %f6, 0fFF800000;              // −inf − −inf: NaN → −inf
    ex2.approx.ftz.f32 %f6, %f6;
    setp.gt.f32     %p2, %f4, %f2;
    fma.rn.f32      %f7, %f3, %f6, 0f3F800000;
    add.f32         %f8, %f3, %f6;
    selp.f32        %f3, %f7, %f8, %p2;
    mov.f32         %f2, %f5;
    add.u32         %r6, %r6, %r2;
    setp.lt.u32     %p1, %r6, %r4;
    @%p1 bra        PASS1;
PASS1_DONE:
    // merge (m, s) over the warp, then over the warps through shared memory
{WARP_MERGE}
    and.b32         %r7, %r1, 31;                   // lane
    shr.u32         %r8, %r1, 5;                    // warp
    setp.ne.u32     %p1, %r7, 0;
    mul.wide.u32    %rd8, %r8, 4;
    mov.u64         %rd9, red_m;
    add.s64         %rd9, %rd9, %rd8;
    @!%p1 st.shared.f32 [%rd9], %f2;
    mov.u64         %rd9, red_s;
    add.s64         %rd9, %rd9, %rd8;
    @!%p1 st.shared.f32 [%rd9], %f3;
    bar.sync        0;
    setp.ne.u32     %p1, %r8, 0;
    @%p1 bra        MERGED;
    shr.u32         %r9, %r2, 5;                    // warps
    mov.f32         %f2, 0fFF800000;
    mov.f32         %f3, 0f00000000;
    setp.ge.u32     %p1, %r7, %r9;
    mul.wide.u32    %rd8, %r7, 4;
    mov.u64         %rd9, red_m;
    add.s64         %rd9, %rd9, %rd8;
    @!%p1 ld.shared.f32 %f2, [%rd9];
    mov.u64         %rd9, red_s;
    add.s64         %rd9, %rd9, %rd8;
    @!%p1 ld.shared.f32 %f3, [%rd9];
{WARP_MERGE}
    setp.ne.u32     %p1, %r7, 0;
    @!%p1 st.shared.f32 [res], %f2;
    @!%p1 st.shared.f32 [res+4], %f3;
MERGED:
    bar.sync        0;
    ld.shared.f32   %f2, [res];                     // row max
    ld.shared.f32   %f3, [res+4];                   // Σ 2^((x − max)·k2)
    // pass 2: write, reading the cached row (or the row again)
    ld.param.u32    %r10, [log];
    setp.ne.u32     %p2, %r10, 0;
    rcp.approx.ftz.f32 %f9, %f3;
    lg2.approx.ftz.f32 %f10, %f3;
    mul.f32         %f10, %f10, 0f3F317218;
    neg.f32         %f10, %f10;                     // −ln Σ
    ld.param.f32    %f11, [k];
    mov.u32         %r6, %r1;
    setp.ge.u32     %p1, %r6, %r4;
    @%p1 bra        DONE;
PASS2:
    mul.wide.u32    %rd5, %r6, 4;
    add.s64         %rd6, %rd2, %rd5;
    add.s64         %rd7, %rd4, %rd5;
    @%p3 ld.shared.f32 %f4, [%rd7];
    @!%p3 ld.global.nc.f32 %f4, [%rd6];
    sub.f32         %f4, %f4, %f2;
    mul.f32         %f5, %f4, %f1;
    ex2.approx.ftz.f32 %f5, %f5;
    mul.f32         %f5, %f5, %f9;                  // softmax
    fma.rn.f32      %f6, %f4, %f11, %f10;           // log-softmax
    selp.f32        %f5, %f6, %f5, %p2;
    add.s64         %rd6, %rd3, %rd5;
    st.global.f32   [%rd6], %f5;
    add.u32         %r6, %r6, %r2;
    setp.lt.u32     %p1, %r6, %r4;
    @%p1 bra        PASS2;
DONE:
    ret;
}
""" + "\n";

    private const string BlockBackward = """
// One block per row: Σ g·y (or Σ g) in one read pass (caching g and y when cached ≠ 0), block sum, then the output pass.
.visible .entry softmax_backward_block_f32(
    .param .u64 dst, .param .u64 grad, .param .u64 y, .param .u32 rows, .param .u32 n,
    .param .f32 k, .param .u32 log, .param .u32 cached)
{
    .reg .pred      %p<4>;
    .reg .b32       %r<16>;
    .reg .b64       %rd<14>;
    .reg .f32       %f<16>;

    mov.u32         %r1, %tid.x;
    mov.u32         %r2, %ntid.x;
    mov.u32         %r3, %ctaid.x;                  // row
    ld.param.u32    %r4, [n];
    ld.param.u32    %r5, [cached];
    setp.ne.u32     %p3, %r5, 0;
    ld.param.u32    %r10, [log];
    setp.ne.u32     %p2, %r10, 0;
    mul.wide.u32    %rd1, %r3, %r4;
    shl.b64         %rd1, %rd1, 2;
    ld.param.u64    %rd2, [grad];
    add.s64         %rd2, %rd2, %rd1;
    ld.param.u64    %rd3, [y];
    add.s64         %rd3, %rd3, %rd1;
    ld.param.u64    %rd10, [dst];
    add.s64         %rd10, %rd10, %rd1;
    mov.u64         %rd4, row_cache;                // cached g
    mul.wide.u32    %rd11, %r4, 4;
    add.s64         %rd11, %rd4, %rd11;             // cached y
    // pass 1: Σ g·y (softmax) or Σ g (log-softmax), caching g and y when asked
    mov.f32         %f1, 0f00000000;
    mov.u32         %r6, %r1;
    setp.ge.u32     %p1, %r6, %r4;
    @%p1 bra        PASS1_DONE;
PASS1:
    mul.wide.u32    %rd5, %r6, 4;
    add.s64         %rd6, %rd2, %rd5;
    ld.global.nc.f32 %f2, [%rd6];
    add.s64         %rd6, %rd3, %rd5;
    ld.global.nc.f32 %f3, [%rd6];
    add.s64         %rd7, %rd4, %rd5;
    @%p3 st.shared.f32 [%rd7], %f2;
    add.s64         %rd7, %rd11, %rd5;
    @%p3 st.shared.f32 [%rd7], %f3;
    selp.f32        %f3, 0f3F800000, %f3, %p2;      // log-softmax sums g·1
    fma.rn.f32      %f1, %f2, %f3, %f1;
    add.u32         %r6, %r6, %r2;
    setp.lt.u32     %p1, %r6, %r4;
    @%p1 bra        PASS1;
PASS1_DONE:
{WARP_SUM}
    and.b32         %r7, %r1, 31;                   // lane
    shr.u32         %r8, %r1, 5;                    // warp
    setp.ne.u32     %p1, %r7, 0;
    mul.wide.u32    %rd8, %r8, 4;
    mov.u64         %rd9, red_s;
    add.s64         %rd9, %rd9, %rd8;
    @!%p1 st.shared.f32 [%rd9], %f1;
    bar.sync        0;
    setp.ne.u32     %p1, %r8, 0;
    @%p1 bra        SUMMED;
    shr.u32         %r9, %r2, 5;                    // warps
    mov.f32         %f1, 0f00000000;
    setp.ge.u32     %p1, %r7, %r9;
    mul.wide.u32    %rd8, %r7, 4;
    mov.u64         %rd9, red_s;
    add.s64         %rd9, %rd9, %rd8;
    @!%p1 ld.shared.f32 %f1, [%rd9];
{WARP_SUM}
    setp.ne.u32     %p1, %r7, 0;
    @!%p1 st.shared.f32 [res], %f1;
SUMMED:
    bar.sync        0;
    ld.shared.f32   %f1, [res];
    neg.f32         %f1, %f1;                       // −Σ
    ld.param.f32    %f9, [k];
    // pass 2: dx = k·y·(g − Σ) or k·(g − e^y·Σ)
    mov.u32         %r6, %r1;
    setp.ge.u32     %p1, %r6, %r4;
    @%p1 bra        DONE;
PASS2:
    mul.wide.u32    %rd5, %r6, 4;
    add.s64         %rd7, %rd4, %rd5;
    add.s64         %rd12, %rd11, %rd5;
    add.s64         %rd6, %rd2, %rd5;
    add.s64         %rd13, %rd3, %rd5;
    @%p3 ld.shared.f32 %f2, [%rd7];
    @%p3 ld.shared.f32 %f3, [%rd12];
    @!%p3 ld.global.nc.f32 %f2, [%rd6];
    @!%p3 ld.global.nc.f32 %f3, [%rd13];
    add.f32         %f4, %f2, %f1;
    mul.f32         %f4, %f4, %f3;                  // softmax: y·(g − Σ)
    mul.f32         %f5, %f3, 0f3FB8AA3B;
    ex2.approx.ftz.f32 %f5, %f5;
    fma.rn.f32      %f5, %f5, %f1, %f2;             // log-softmax: g − e^y·Σ
    selp.f32        %f4, %f5, %f4, %p2;
    mul.f32         %f4, %f4, %f9;
    add.s64         %rd6, %rd10, %rd5;
    st.global.f32   [%rd6], %f4;
    add.u32         %r6, %r6, %r2;
    setp.lt.u32     %p1, %r6, %r4;
    @%p1 bra        PASS2;
DONE:
    ret;
}
""" + "\n";

    private const string SimpleForward = """
// The teaching version: one thread per row, three passes (max, Σ, write). Correct, and slow: a warp's 32 loads hit 32
// rows n·4 bytes apart (32 transactions instead of one), and the row is read three times.
.visible .entry softmax_simple_f32(
    .param .u64 dst, .param .u64 src, .param .u32 rows, .param .u32 n,
    .param .f32 k2, .param .f32 k, .param .u32 log)
{
    .reg .pred      %p<3>;
    .reg .b32       %r<10>;
    .reg .b64       %rd<8>;
    .reg .f32       %f<12>;

    mov.u32         %r1, %ctaid.x;
    mov.u32         %r2, %ntid.x;
    mov.u32         %r3, %tid.x;
    mad.lo.s32      %r4, %r1, %r2, %r3;             // row
    ld.param.u32    %r5, [rows];
    setp.ge.u32     %p1, %r4, %r5;
    @%p1 bra        DONE;
    ld.param.u32    %r6, [n];
    mul.wide.u32    %rd1, %r4, %r6;
    shl.b64         %rd1, %rd1, 2;
    ld.param.u64    %rd2, [src];
    add.s64         %rd2, %rd2, %rd1;
    ld.param.u64    %rd3, [dst];
    add.s64         %rd3, %rd3, %rd1;
    mul.wide.u32    %rd4, %r6, 4;
    add.s64         %rd4, %rd2, %rd4;               // end of the src row
    ld.param.f32    %f1, [k2];
    // pass 1: max
    mov.f32         %f2, 0fFF800000;
    mov.u64         %rd5, %rd2;
MAX:
    ld.global.f32   %f3, [%rd5];
    max.f32         %f2, %f2, %f3;
    add.s64         %rd5, %rd5, 4;
    setp.lt.u64     %p1, %rd5, %rd4;
    @%p1 bra        MAX;
    // pass 2: Σ 2^((x − max)·k2)
    mov.f32         %f4, 0f00000000;
    mov.u64         %rd5, %rd2;
SUM:
    ld.global.f32   %f3, [%rd5];
    sub.f32         %f3, %f3, %f2;
    mul.f32         %f3, %f3, %f1;
    ex2.approx.ftz.f32 %f3, %f3;
    add.f32         %f4, %f4, %f3;
    add.s64         %rd5, %rd5, 4;
    setp.lt.u64     %p1, %rd5, %rd4;
    @%p1 bra        SUM;
    // pass 3: write
    ld.param.u32    %r7, [log];
    setp.ne.u32     %p2, %r7, 0;
    rcp.approx.ftz.f32 %f5, %f4;
    lg2.approx.ftz.f32 %f6, %f4;
    mul.f32         %f6, %f6, 0f3F317218;
    neg.f32         %f6, %f6;
    ld.param.f32    %f7, [k];
    mov.u64         %rd5, %rd2;
    mov.u64         %rd6, %rd3;
WRITE:
    ld.global.f32   %f3, [%rd5];
    sub.f32         %f3, %f3, %f2;
    mul.f32         %f8, %f3, %f1;
    ex2.approx.ftz.f32 %f8, %f8;
    mul.f32         %f8, %f8, %f5;
    fma.rn.f32      %f9, %f3, %f7, %f6;
    selp.f32        %f8, %f9, %f8, %p2;
    st.global.f32   [%rd6], %f8;
    add.s64         %rd5, %rd5, 4;
    add.s64         %rd6, %rd6, 4;
    setp.lt.u64     %p1, %rd5, %rd4;
    @%p1 bra        WRITE;
DONE:
    ret;
}
""" + "\n";

    private const string SimpleBackward = """
// The teaching version of the backward: one thread per row, two passes (Σ, write), uncoalesced like softmax_simple_f32.
.visible .entry softmax_backward_simple_f32(
    .param .u64 dst, .param .u64 grad, .param .u64 y, .param .u32 rows, .param .u32 n,
    .param .f32 k, .param .u32 log)
{
    .reg .pred      %p<3>;
    .reg .b32       %r<10>;
    .reg .b64       %rd<12>;
    .reg .f32       %f<12>;

    mov.u32         %r1, %ctaid.x;
    mov.u32         %r2, %ntid.x;
    mov.u32         %r3, %tid.x;
    mad.lo.s32      %r4, %r1, %r2, %r3;             // row
    ld.param.u32    %r5, [rows];
    setp.ge.u32     %p1, %r4, %r5;
    @%p1 bra        DONE;
    ld.param.u32    %r6, [n];
    ld.param.u32    %r7, [log];
    setp.ne.u32     %p2, %r7, 0;
    mul.wide.u32    %rd1, %r4, %r6;
    shl.b64         %rd1, %rd1, 2;
    ld.param.u64    %rd2, [grad];
    add.s64         %rd2, %rd2, %rd1;
    ld.param.u64    %rd3, [y];
    add.s64         %rd3, %rd3, %rd1;
    ld.param.u64    %rd4, [dst];
    add.s64         %rd4, %rd4, %rd1;
    mul.wide.u32    %rd5, %r6, 4;
    add.s64         %rd5, %rd2, %rd5;               // end of the grad row
    // pass 1: Σ g·y (softmax) or Σ g (log-softmax)
    mov.f32         %f1, 0f00000000;
    mov.u64         %rd6, %rd2;
    mov.u64         %rd7, %rd3;
SUM:
    ld.global.f32   %f2, [%rd6];
    ld.global.f32   %f3, [%rd7];
    selp.f32        %f3, 0f3F800000, %f3, %p2;
    fma.rn.f32      %f1, %f2, %f3, %f1;
    add.s64         %rd6, %rd6, 4;
    add.s64         %rd7, %rd7, 4;
    setp.lt.u64     %p1, %rd6, %rd5;
    @%p1 bra        SUM;
    neg.f32         %f1, %f1;
    ld.param.f32    %f9, [k];
    // pass 2: write
    mov.u64         %rd6, %rd2;
    mov.u64         %rd7, %rd3;
    mov.u64         %rd8, %rd4;
WRITE:
    ld.global.f32   %f2, [%rd6];
    ld.global.f32   %f3, [%rd7];
    add.f32         %f4, %f2, %f1;
    mul.f32         %f4, %f4, %f3;
    mul.f32         %f5, %f3, 0f3FB8AA3B;
    ex2.approx.ftz.f32 %f5, %f5;
    fma.rn.f32      %f5, %f5, %f1, %f2;
    selp.f32        %f4, %f5, %f4, %p2;
    mul.f32         %f4, %f4, %f9;
    st.global.f32   [%rd8], %f4;
    add.s64         %rd6, %rd6, 4;
    add.s64         %rd7, %rd7, 4;
    add.s64         %rd8, %rd8, 4;
    setp.lt.u64     %p1, %rd6, %rd5;
    @%p1 bra        WRITE;
DONE:
    ret;
}
""" + "\n";
}
