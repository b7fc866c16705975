namespace Engine.Nn;

/// <summary>
/// Writes a model as a standard ONNX file (opset 17, IR version 8) for inference elsewhere (ONNX Runtime, TensorRT, ...).
/// The model runs once in eval mode on a random input of the given shape under an <see cref="OpTrace"/>; each traced op
/// becomes ONNX nodes (convolution, batch norm as BatchNormalization, pooling, activations, LRN, concat, residual adds,
/// reshapes, matmul; dropout and stochastic depth are the identity in eval mode and leave no node), parameters and
/// buffers become initializers under their state-dict names. Shapes are fixed to the traced ones. An op ONNX cannot
/// express raises <see cref="OnnxExportException"/> naming it, and nothing is written.
/// </summary>
public static class Onnx
{
    /// <summary>Exports <paramref name="model"/> for inputs of <paramref name="inputShape"/> (e.g. [1, 3, 224, 224]) to <paramref name="path"/>.</summary>
    /// <remarks>The model is put in eval mode (and left so). The file is written atomically (a temporary file renamed).</remarks>
    public static void Export(Module model, long[] inputShape, string path)
    {
        var bytes = ToBytes(model, inputShape);
        string full = Path.GetFullPath(path);
        string tmp = Path.Combine(Path.GetDirectoryName(full)!, $".{Guid.NewGuid():N}.onnx.tmp");
        try
        {
            File.WriteAllBytes(tmp, bytes);
            File.Move(tmp, full, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            try { File.Delete(tmp); } catch (Exception cleanup) when (cleanup is IOException or UnauthorizedAccessException) { }
            throw new OnnxExportException($"cannot write '{path}': {e.Message.Replace(tmp, full)}");
        }
    }

    /// <summary>The ONNX ModelProto bytes of <paramref name="model"/> for inputs of <paramref name="inputShape"/>.</summary>
    public static byte[] ToBytes(Module model, long[] inputShape)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (inputShape.Length < 2 || inputShape.Any(d => d < 1))
            throw new OnnxExportException($"input shape {Format(inputShape)} must have a batch and feature dims, each at least 1");
        model.Eval();
        var device = model.Parameters().FirstOrDefault()?.Device ?? Device.Cpu;
        using var scope = Tensor.NewDisposeScope();
        var input = Tensor.Randn(inputShape, DType.Float32, new Generator(0)).To(device);
        Tensor output;
        OpTrace trace;
        using (Tensor.NoGrad())
        using (trace = OpTrace.Start())
            output = model.Call(input);
        var named = new Dictionary<Tensor, string>(ReferenceEqualityComparer.Instance);
        foreach (var (name, p) in model.NamedParameters()) named.TryAdd(p, name);
        foreach (var (name, b) in model.NamedBuffers()) named.TryAdd(b, name);
        var writer = new Writer(trace, named);
        writer.Values[input] = "input";
        foreach (var op in trace.Ops) writer.Emit(op);
        string result = writer.Name(output);
        if (result != "output") writer.Graph.Node("Identity", [result], ["output"]);
        return writer.Graph.Model(model.GetType().Name, "input", inputShape, "output", output.Shape);
    }

    private static string Format(long[] s) => $"[{string.Join(", ", s)}]";

    private sealed class Writer(OpTrace trace, Dictionary<Tensor, string> parameters)
    {
        public readonly OnnxGraph Graph = new();
        public readonly Dictionary<Tensor, string> Values = new(ReferenceEqualityComparer.Instance);
        // wᵀ of a 2-D weight (Linear's x·wᵀ): a Gemm with transB when a matmul consumes it, a Transpose only if anything else does
        private readonly Dictionary<Tensor, Tensor> _transposed = new(ReferenceEqualityComparer.Instance);

        // A tensor's value name: an op's output, the graph input, a parameter or buffer (an initializer under its
        // state-dict name), or a tensor made outside the traced ops (a constant, written as an initializer).
        public string Name(Tensor t)
        {
            if (Values.TryGetValue(t, out var v)) return v;
            if (_transposed.TryGetValue(t, out var w)) return Values[t] = Graph.NodeWith("Transpose", [Name(w)], ("perm", new long[] { 1, 0 }));
            if (parameters.TryGetValue(t, out var p)) return Values[t] = Graph.Initializer(p, t);
            if (trace.ProducerOf(t) is { } producer)
                throw new OnnxExportException($"op '{producer.Name}' ran before its output was defined in the graph");
            return Values[t] = Graph.Initializer(Graph.Fresh("constant"), t);
        }

        private string Scalar(double v) => Graph.Constant([(float)v]);

        public void Emit(TracedOp op)
        {
            var x = op.Inputs.Count > 0 && op.Inputs[0] is { } first ? first : null;
            string In(int i) => Name(op.Inputs[i] ?? throw Unsupported(op, $"operand {i} is absent"));
            if (op.Name == "t" && x is { Rank: 2 } && parameters.ContainsKey(x)) { _transposed[op.Output] = x; return; }
            if (op.Name == "matmul" && op.Inputs[0] is { Rank: 2 } && op.Inputs[1] is { } wt && _transposed.TryGetValue(wt, out var weight) && !Values.ContainsKey(wt))
            {
                Values[op.Output] = Graph.NodeWith("Gemm", [In(0), Name(weight)], ("transB", 1L));
                return;
            }
            string? result = op.Name switch
            {
                "add" or "sub" or "mul" or "div" when op.Inputs.Count == 2 =>
                    Graph.Node(op.Name switch { "add" => "Add", "sub" => "Sub", "mul" => "Mul", _ => "Div" }, In(0), In(1)),
                "pow" when op.Inputs.Count == 2 => Graph.Node("Pow", In(0), In(1)),
                "maximum" => Graph.Node("Max", In(0), In(1)),
                "minimum" => Graph.Node("Min", In(0), In(1)),
                "add" or "sub" or "rsub" or "mul" or "div" => Affine(In(0), op.Get<double>("scale"), op.Get<double>("shift")),
                "neg" => Graph.Node("Neg", In(0)),
                "abs" => Graph.Node("Abs", In(0)),
                "exp" => Graph.Node("Exp", In(0)),
                "log" => Graph.Node("Log", In(0)),
                "sqrt" => Graph.Node("Sqrt", In(0)),
                "rsqrt" => Graph.Node("Reciprocal", Graph.Node("Sqrt", In(0))),
                "square" => Graph.Node("Mul", In(0), In(0)),
                "sign" => Graph.Node("Sign", In(0)),
                "rdiv" => Graph.Node("Div", Scalar(op.Get<double>("numerator")), In(0)),
                "pow" => Graph.Node("Pow", In(0), Scalar(op.Get<double>("exponent"))),
                "clamp" => Clip(In(0), op.Get<double>("min"), op.Get<double>("max")),
                "relu" => Graph.Node("Relu", In(0)),
                "relu6" => Clip(In(0), 0, 6),
                "leaky_relu" => Graph.NodeWith("LeakyRelu", [In(0)], ("alpha", (float)op.Get<double>("parameter"))),
                "sigmoid" => Graph.Node("Sigmoid", In(0)),
                "tanh" => Graph.Node("Tanh", In(0)),
                "silu" => Graph.Node("Mul", In(0), Graph.Node("Sigmoid", In(0))),
                // x · Φ(x) = x · (1 + erf(x / √2)) / 2 (opset 17 has no Gelu)
                "gelu" => Graph.Node("Mul", Graph.Node("Mul", In(0), Graph.Node("Add", Graph.Node("Erf", Graph.Node("Div", In(0), Scalar(Math.Sqrt(2)))), Scalar(1))), Scalar(0.5)),
                "hardsigmoid" => Graph.NodeWith("HardSigmoid", [In(0)], ("alpha", 1f / 6), ("beta", 0.5f)),
                "hardswish" => Graph.Node("HardSwish", In(0)),
                "softsign" => Graph.Node("Softsign", In(0)),
                "view" or "squeeze" or "unsqueeze" => Graph.Node("Reshape", In(0), Graph.Int64s(op.OutputShape)),
                "expand" => Graph.Node("Expand", In(0), Graph.Int64s(op.OutputShape)),
                "clone" => Graph.Node("Identity", In(0)),
                "t" => x!.Rank == 2 ? Graph.NodeWith("Transpose", [In(0)], ("perm", new long[] { 1, 0 })) : Graph.Node("Identity", In(0)),
                "permute" => Graph.NodeWith("Transpose", [In(0)], ("perm", op.Get<int[]>("dims"))),
                "slice" => Graph.Node("Slice", In(0), Graph.Int64s(op.Get<long>("start")), Graph.Int64s(op.Get<long>("end")),
                    Graph.Int64s(op.Get<int>("dim")), Graph.Int64s(op.Get<long>("step"))),
                "cat" => Graph.NodeWith("Concat", [.. op.Inputs.Select((_, i) => In(i))], ("axis", op.Get<int>("dim"))),
                "matmul" => Graph.Node("MatMul", In(0), In(1)),
                "sum" => Graph.NodeWith("ReduceSum", [In(0), Graph.Int64s([.. op.Get<int[]>("dims").Select(d => (long)d)])], ("keepdims", op.Get<bool>("keep_dim"))),
                "amax" or "max" when op.Attributes.ContainsKey("dims") => Reduce("ReduceMax", op, In(0)),
                "amin" or "min" when op.Attributes.ContainsKey("dims") => Reduce("ReduceMin", op, In(0)),
                "softmax" or "log_softmax" => Softmax(op, In(0)),
                "conv2d" or "conv3d" => Conv(op, In(0), In(1), op.Inputs[2] is { } b ? Name(b) : null),
                "max_pool2d" or "max_pool3d" => MaxPool(op, In(0)),
                "avg_pool2d" or "avg_pool3d" => AvgPool(op, In(0)),
                "adaptive_avg_pool2d" or "adaptive_avg_pool3d" or "adaptive_max_pool2d" => Adaptive(op, In(0)),
                "batch_norm" => BatchNorm(op, In(0)),
                "local_response_norm" => Graph.NodeWith("LRN", [In(0)], ("size", op.Get<int>("size")), ("alpha", (float)op.Get<double>("alpha")),
                    ("beta", (float)op.Get<double>("beta")), ("bias", (float)op.Get<double>("k"))),
                _ => null,
            };
            Values[op.Output] = result ?? throw Unsupported(op, "ONNX opset 17 has no equivalent the exporter knows");
        }

        private static OnnxExportException Unsupported(TracedOp op, string why) =>
            new($"op '{op.Name}' (output {Format(op.OutputShape)}) cannot be exported: {why}");

        private string Affine(string x, double scale, double shift)
        {
            if (scale != 1) x = Graph.Node("Mul", x, Scalar(scale));
            if (shift != 0) x = Graph.Node("Add", x, Scalar(shift));
            return scale == 1 && shift == 0 ? Graph.Node("Identity", x) : x;
        }

        private string Clip(string x, double min, double max) =>
            Graph.Node("Clip", x, double.IsNegativeInfinity(min) ? "" : Scalar(min), double.IsPositiveInfinity(max) ? "" : Scalar(max));

        private string Reduce(string type, TracedOp op, string x) =>
            Graph.NodeWith(type, [x], ("axes", op.Get<int[]>("dims")), ("keepdims", op.Get<bool>("keep_dim")));

        private string Softmax(TracedOp op, string x)
        {
            double scale = op.Get<double>("scale");
            if (scale != 1) x = Graph.Node("Mul", x, Scalar(scale));
            return Graph.NodeWith(op.Name == "softmax" ? "Softmax" : "LogSoftmax", [x], ("axis", -1L));
        }

        private string Conv(TracedOp op, string x, string w, string? bias)
        {
            var weight = op.Inputs[1]!;
            int[] begin = op.Get<int[]>("padding_begin"), end = op.Get<int[]>("padding_end");
            return Graph.NodeWith("Conv", bias is null ? [x, w] : [x, w, bias],
                ("kernel_shape", weight.Shape[2..]), ("strides", op.Get<int[]>("stride")), ("pads", begin.Concat(end).ToArray()),
                ("dilations", op.Get<int[]>("dilation")), ("group", op.Get<int>("groups")));
        }

        // ONNX's ceil-mode output size has no rule that the last window must start inside the input (PyTorch's); refuse
        // a shape where the two differ rather than export a different network.
        private static void CheckPoolSize(TracedOp op, int[] kernel, int[] stride, int[] padding, int[] dilation)
        {
            if (!op.Get<bool>("ceil_mode")) return;
            var x = op.Inputs[0]!;
            for (int d = 0; d < kernel.Length; d++)
            {
                long span = (long)dilation[d] * (kernel[d] - 1) + 1, n = x.Size(2 + d) + 2L * padding[d];
                long onnx = (n - span + stride[d] - 1) / stride[d] + 1;
                if (onnx != op.OutputShape[2 + d])
                    throw Unsupported(op, $"with ceil_mode, ONNX gives {onnx} outputs along spatial dim {d} where PyTorch gives {op.OutputShape[2 + d]}");
            }
        }

        private string MaxPool(TracedOp op, string x)
        {
            int[] k = op.Get<int[]>("kernel"), s = op.Get<int[]>("stride"), p = op.Get<int[]>("padding"), dl = op.Get<int[]>("dilation");
            CheckPoolSize(op, k, s, p, dl);
            return Graph.NodeWith("MaxPool", [x], ("kernel_shape", k), ("strides", s), ("pads", p.Concat(p).ToArray()), ("dilations", dl),
                ("ceil_mode", op.Get<bool>("ceil_mode")));
        }

        private string AvgPool(TracedOp op, string x)
        {
            if (op.Get<int>("divisor_override") != 0) throw Unsupported(op, "ONNX AveragePool has no divisor override");
            int[] k = op.Get<int[]>("kernel"), s = op.Get<int[]>("stride"), p = op.Get<int[]>("padding");
            CheckPoolSize(op, k, s, p, [.. k.Select(_ => 1)]);
            if (op.Get<bool>("ceil_mode") && op.Get<bool>("count_include_pad") && p.Any(v => v > 0))
                throw Unsupported(op, "ceil_mode with padding counted in the divisor divides partial windows differently in ONNX");
            return Graph.NodeWith("AveragePool", [x], ("kernel_shape", k), ("strides", s), ("pads", p.Concat(p).ToArray()),
                ("ceil_mode", op.Get<bool>("ceil_mode")), ("count_include_pad", op.Get<bool>("count_include_pad")));
        }

        // Adaptive pooling: a global pool, or an ordinary pool when every dim divides evenly; otherwise, since the windows
        // are products of per-dim windows (⌊i·In/Out⌋ … ⌈(i+1)·In/Out⌉), one dim at a time: a slice per output index,
        // reduced (mean or max) and concatenated back: exact for any sizes.
        private string Adaptive(TracedOp op, string x)
        {
            var input = op.Inputs[0]!;
            bool max = op.Name.StartsWith("adaptive_max", StringComparison.Ordinal);
            var outSizes = op.OutputShape[2..];
            if (outSizes.All(v => v == 1)) return Graph.Node(max ? "GlobalMaxPool" : "GlobalAveragePool", x);
            var inSizes = input.Shape[2..];
            if (inSizes.Zip(outSizes).All(p => p.First % p.Second == 0))
            {
                var k = inSizes.Zip(outSizes, (i, o) => i / o).ToArray();
                return Graph.NodeWith(max ? "MaxPool" : "AveragePool", [x], ("kernel_shape", k), ("strides", k));
            }
            for (int d = 0; d < inSizes.Length; d++)
            {
                long n = inSizes[d], o = outSizes[d];
                if (n == o) continue;
                int axis = 2 + d;
                var parts = new string[o];
                for (long i = 0; i < o; i++)
                {
                    long start = i * n / o, end = ((i + 1) * n + o - 1) / o;
                    string window = Graph.Node("Slice", x, Graph.Int64s(start), Graph.Int64s(end), Graph.Int64s(axis));
                    parts[i] = Graph.NodeWith(max ? "ReduceMax" : "ReduceMean", [window], ("axes", new long[] { axis }), ("keepdims", 1L));
                }
                x = Graph.NodeWith("Concat", parts, ("axis", (long)axis));
            }
            return x;
        }

        private string BatchNorm(TracedOp op, string x)
        {
            if (op.Get<bool>("training")) throw Unsupported(op, "batch norm in training mode (export runs the model in eval mode; a module forcing training cannot be exported)");
            var mean = op.Get<Tensor>("running_mean");
            var var = op.Get<Tensor>("running_var");
            int c = (int)mean.Size(0);
            string scale = op.Inputs[1] is { } w ? Name(w) : Graph.Constant([.. Enumerable.Repeat(1f, c)], c);
            string shift = op.Inputs[2] is { } b ? Name(b) : Graph.Constant(new float[c], c);
            return Graph.NodeWith("BatchNormalization", [x, scale, shift, Name(mean), Name(var)], ("epsilon", (float)op.Get<double>("eps")));
        }
    }
}
