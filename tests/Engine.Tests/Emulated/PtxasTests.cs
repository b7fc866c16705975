using System.Diagnostics;
using Engine.Kernels.Gpu;
using Engine.Tests.Ptx;

namespace Engine.Tests.Emulated;

/// <summary>
/// Every PTX module the engine generates, and the complete test kernels, assembled by NVIDIA's ptxas for sm_80
/// and sm_90: PTX the emulator accepts must also be PTX a real driver accepts. Runs when ptxas is on the PATH
/// (.ci/run extracts the CUDA 11.8 ptxas from Debian's nvidia-cuda-toolkit package); reports Ignored otherwise.
/// </summary>
[Category("Ptxas")]
public class PtxasTests
{
    private static string? FindPtxas()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var p = Path.Combine(dir, "ptxas");
            if (File.Exists(p)) return p;
        }
        return null;
    }

    private static void Assemble(string ptxas, string name, string text)
    {
        string dir = Directory.CreateTempSubdirectory("ptxas").FullName;
        try
        {
            string file = Path.Combine(dir, name + ".ptx");
            File.WriteAllText(file, text);
            foreach (var arch in new[] { "sm_80", "sm_90" })
            {
                var psi = new ProcessStartInfo(ptxas, ["-arch=" + arch, file, "-o", Path.Combine(dir, $"{name}.{arch}.cubin")])
                {
                    RedirectStandardError = true,
                    RedirectStandardOutput = true,
                };
                using var p = Process.Start(psi)!;
                string err = p.StandardError.ReadToEnd() + p.StandardOutput.ReadToEnd();
                p.WaitForExit();
                Assert.That(p.ExitCode, Is.EqualTo(0), $"ptxas -arch={arch} rejected {name}:\n{err}\n--- PTX ---\n{text}");
            }
        }
        finally { Directory.Delete(dir, true); }
    }

    [Test]
    public void EveryGeneratedKernelAssembles()
    {
        var ptxas = FindPtxas();
        if (ptxas is null) Assert.Ignore("ptxas is not on the PATH (.ci/run installs it)");
        // Run every generated kernel family once, for every dtype and a few ranks, so its module is built.
        using (var scope = Tensor.NewDisposeScope())
        {
            var g = new Generator(1);
            foreach (var dt in new[] { DType.Float32, DType.Float64, DType.Int64, DType.Int32, DType.UInt8, DType.Bool })
            {
                var a = Tensor.RandInt(0, 2, [3, 4, 5], dt == DType.Bool ? DType.UInt8 : dt, g).To(dt).To(Device.Emulated);
                var b = a.Permute(2, 0, 1).Contiguous();
                Tensor.Where(a.Ne(0.0), a, a);
                foreach (var to in new[] { DType.Float32, DType.Float64, DType.Int64, DType.Int32, DType.UInt8, DType.Bool })
                {
                    _ = a.To(to);                      // contiguous copy-cast
                    _ = a.Permute(1, 0, 2).To(to);     // strided copy-cast
                }
                ReductionWorkload(dt, g);
                if (dt is DType.Bool or DType.UInt8) continue;
                _ = a.Add(a); _ = a.Sub(b.Permute(1, 2, 0)); _ = a.Mul(a.Narrow(2, 0, 1)); _ = a.Maximum(a); _ = a.Minimum(a);
                _ = a.Eq(a); _ = a.Lt(a); _ = a.Le(a); _ = a.Gt(a); _ = a.Ge(a); _ = a.Ne(a);
                if (dt is DType.Float32 or DType.Float64)
                {
                    var f = Tensor.Randn([4, 5], dt, g).To(Device.Emulated);
                    _ = f.Div(f); _ = f.Neg(); _ = f.Abs(); _ = f.Square(); _ = f.Sign(); _ = f.Mul(2.0); _ = f.RDiv(1.0); _ = f.Relu(); _ = f.Relu6();
                    _ = f.LeakyRelu(); _ = f.Clamp(-1, 1); _ = f.Exp(); _ = f.Abs().Log(); _ = f.Abs().Sqrt(); _ = f.Abs().Add(1.0).Rsqrt();
                    _ = f.Sigmoid(); _ = f.Tanh(); _ = f.Silu();
                    _ = f.Gelu();
                    if (dt == DType.Float64)
                    {   // the generated float64 softmax kernels (SoftmaxGen), forward and backward
                        var sx = f.Clone().RequiresGrad_();
                        (sx.Softmax(-1) * f).Sum().Backward();
                        (sx.LogSoftmax(-1) * f).Sum().Backward();
                    }
                    _ = Tensor.BinaryKernel("relu_backward", Kernels.BinaryOp.ReluBackward, f, f);
                    var gpu = (GpuBackend)Kernels.Backends.For(Device.Emulated);
                    var o = Tensor.Empty([4, 5], dt, Device.Emulated);
                    foreach (var bop in new[] { Kernels.BinaryOp.Relu6Backward, Kernels.BinaryOp.LeakyReluBackward, Kernels.BinaryOp.ClampBackward,
                        Kernels.BinaryOp.AbsBackward, Kernels.BinaryOp.SigmoidBackward, Kernels.BinaryOp.TanhBackward, Kernels.BinaryOp.SiluBackward, Kernels.BinaryOp.GeluBackward,
                        Kernels.BinaryOp.HardsigmoidBackward, Kernels.BinaryOp.HardswishBackward, Kernels.BinaryOp.PowScalarBackward, Kernels.BinaryOp.Pow })
                        gpu.Binary(bop, o.View("t"), f.View("t"), f.View("t"), 0.5, 1);
                    foreach (var uop in new[] { Kernels.UnaryOp.Gelu, Kernels.UnaryOp.Hardsigmoid, Kernels.UnaryOp.Hardswish, Kernels.UnaryOp.PowScalar, Kernels.UnaryOp.ScalarPow })
                        gpu.Unary(uop, o.View("t"), f.View("t"), 0.5, 1);
                }
                if (dt is DType.Int64 or DType.Int32)
                {
                    var gpu = (GpuBackend)Kernels.Backends.For(Device.Emulated);
                    foreach (var uop in new[] { Kernels.UnaryOp.Neg, Kernels.UnaryOp.Abs, Kernels.UnaryOp.Square, Kernels.UnaryOp.Sign, Kernels.UnaryOp.Affine,
                        Kernels.UnaryOp.Relu, Kernels.UnaryOp.Relu6, Kernels.UnaryOp.Clamp })
                        gpu.Unary(uop, a.View("t"), b.Permute(1, 2, 0).View("t"), 2, 3);
                    foreach (var bop in new[] { Kernels.BinaryOp.Relu6Backward, Kernels.BinaryOp.LeakyReluBackward, Kernels.BinaryOp.ClampBackward, Kernels.BinaryOp.AbsBackward })
                        gpu.Binary(bop, a.View("t"), a.View("t"), a.View("t"), 0, 1);
                }
            }
            IndexWorkload(g);
        }
        var texts = EmulatedRuntime.Shared.ModuleTexts;
        Assert.That(texts, Has.Count.GreaterThan(30), "the workload built the generated kernels");
        Parallel.ForEach(texts, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, kv => Assemble(ptxas!, kv.Key, kv.Value));
    }

    /// <summary>
    /// The generated index kernels: gather (every element size; 32- and 64-bit element index) and scatter_add (every
    /// dtype it takes) at ranks 1–3, through gather, index_select, scatter_add and index_add.
    /// </summary>
    private static void IndexWorkload(Generator g)
    {
        var gpu = (GpuBackend)Kernels.Backends.For(Device.Emulated);
        foreach (var dt in new[] { DType.Float32, DType.Float64, DType.Int64, DType.Int32, DType.UInt8, DType.Bool })
        {
            var x = Tensor.RandInt(0, 2, [3, 4, 5], DType.Int64, g).To(dt).To(Device.Emulated);
            var idx = Tensor.RandInt(0, 3, [3, 4, 5], DType.Int64, g).To(Device.Emulated);
            _ = x.Gather(2, idx);                                   // rank 1
            _ = x.Gather(1, idx.Narrow(2, 0, 2));                   // rank 3
            _ = x.Permute(2, 0, 1).Gather(0, idx.Permute(2, 0, 1)); // rank 2 after coalescing
            _ = x.IndexSelect(1, Tensor.FromArray(new long[] { 2, 0 }).To(Device.Emulated));
            if (dt == DType.Bool) continue;
            _ = x.ScatterAdd(1, idx, x);
            _ = x.ScatterAdd(2, idx.Narrow(1, 0, 2), x.Narrow(1, 0, 2));
            _ = x.ScatterAdd(0, idx.Narrow(0, 0, 1).Narrow(2, 0, 3), x.Narrow(0, 0, 1).Narrow(2, 0, 3));
            var z = Tensor.Zeros([3, 4, 5], dt, Device.Emulated);
            gpu.IndexAdd(z.View("t"), Tensor.FromArray(new long[] { 1, 1 }).To(Device.Emulated).View("t"), x.Narrow(0, 0, 2).View("t"), 0);
        }
        // The 64-bit element index variants (picked for more than 2^32 elements; too many to run here): generated only.
        foreach (var (bytes, rank) in new[] { (1, 1), (2, 2), (4, 3), (8, 4) })
            Kernels.Gpu.EmulatedRuntime.Shared.LoadModule($"gather_b{bytes * 8}_r{rank}_w64", IndexPtxGen.Gather($"gather_b{bytes * 8}_r{rank}_w64", rank, bytes, wide: true));
        foreach (var (t, rank) in new[] { (ElemType.F32, 1), (ElemType.F64, 2), (ElemType.S64, 3), (ElemType.S32, 4), (ElemType.U8, 2) })
            Kernels.Gpu.EmulatedRuntime.Shared.LoadModule($"scatter_add_{PtxGen.TypeSuffix(t)}_r{rank}_w64", IndexPtxGen.ScatterAdd($"scatter_add_{PtxGen.TypeSuffix(t)}_r{rank}_w64", rank, t, wide: true));
    }

    /// <summary>
    /// Every reduction kind on <paramref name="dt"/> in each kernel shape the backend picks: warp per output (reduced dims
    /// innermost), thread per output (reduced dims outer), block per output with a chunked first pass and its second pass,
    /// a thread-per-output chunked pass, and a general strided case with two kept and two reduced dims.
    /// </summary>
    private static void ReductionWorkload(DType dt, Generator g)
    {
        var be = Kernels.Backends.For(Device.Emulated);
        (long[] Shape, long[] Keep, Func<Tensor, Tensor> View)[] cases =
        [
            ([3, 4, 5], [3, 4, 1], t => t),
            ([3, 4, 5], [1, 4, 5], t => t),
            ([3, 5000], [3, 1], t => t),
            ([300, 3], [1, 3], t => t),
            ([4, 5, 6, 7], [4, 1, 6, 1], t => t.Permute(3, 2, 1, 0).Contiguous().Permute(3, 2, 1, 0)),
        ];
        foreach (var (shape, keep, view) in cases)
        {
            var x = view(Tensor.RandInt(0, 2, shape, DType.UInt8, g).To(dt).To(Device.Emulated));
            foreach (var op in new[] { Kernels.ReduceOp.Sum, Kernels.ReduceOp.Max, Kernels.ReduceOp.Min })
            {
                var r = Tensor.Empty(keep, dt, Device.Emulated);
                be.Reduce(op, r.View("t"), x.View("t"));
            }
            int dim = Array.FindIndex(keep, k => k == 1);
            var ak = (long[])shape.Clone();
            ak[dim] = 1;
            foreach (var max in new[] { true, false })
            {
                var v = Tensor.Empty(ak, dt, Device.Emulated);
                var ix = Tensor.Empty(ak, DType.Int64, Device.Emulated);
                be.ArgReduce(max, v.View("t"), ix.View("t"), x.View("t"), dim);
            }
        }
    }

    [Test]
    public void TheEmulatorsTestKernelsAssemble()
    {
        var ptxas = FindPtxas();
        if (ptxas is null) Assert.Ignore("ptxas is not on the PATH (.ci/run installs it)");
        Assemble(ptxas!, "vector_add", PtxHarness.Header + PtxKernels.VectorAdd);
        Assemble(ptxas!, "block_sum", PtxHarness.Header + PtxKernels.BlockSum());
        Assemble(ptxas!, "warp_sum", PtxHarness.Header + PtxKernels.WarpSum);
        Assemble(ptxas!, "histogram", PtxHarness.Header + PtxKernels.Histogram);
    }

    /// <summary>Every hand-written module (src/Kernels/Gpu/Kernels/*.ptx) assembles for sm_80 and sm_90.</summary>
    [Test]
    public void EveryHandWrittenKernelAssembles()
    {
        var ptxas = FindPtxas();
        if (ptxas is null) Assert.Ignore("ptxas is not on the PATH (.ci/run installs it)");
        Assert.That(EmbeddedPtx.Names, Is.Not.Empty, "the hand-written modules are embedded");
        Parallel.ForEach(EmbeddedPtx.Names, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount },
            n => Assemble(ptxas!, n, EmbeddedPtx.Text(n)));
    }
}
