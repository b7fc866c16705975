using System.Runtime.InteropServices;

namespace Engine.Nn;

/// <summary>
/// An ONNX graph being written: nodes in execution order, initializers (weights and constants) and the graph's input and
/// output, serialised as a ModelProto (onnx/onnx.proto: IR version 8, opset 17).
/// </summary>
internal sealed class OnnxGraph
{
    public const int Opset = 17;
    private const long IrVersion = 8;
    private const int Float = 1, Int64 = 7;   // TensorProto.DataType
    private readonly List<byte[]> _nodes = [];
    private readonly List<ProtoWriter> _initializers = [];
    private readonly HashSet<string> _initializerNames = [];
    private int _next;

    /// <summary>A fresh value name.</summary>
    public string Fresh(string hint) => $"{hint}_{_next++}";

    /// <summary>Adds a node; attribute values are long, float, string, long[] or float[].</summary>
    public void Node(string opType, string[] inputs, string[] outputs, params (string Name, object Value)[] attributes)
    {
        var w = new ProtoWriter();
        foreach (var i in inputs) w.String(1, i);              // NodeProto.input
        foreach (var o in outputs) w.String(2, o);             // NodeProto.output
        w.String(3, $"{opType}_{_nodes.Count}");               // NodeProto.name
        w.String(4, opType);                                    // NodeProto.op_type
        foreach (var (name, value) in attributes) w.Message(5, a => Attribute(a, name, value));   // NodeProto.attribute
        _nodes.Add(w.ToArray());
    }

    /// <summary>A single-output node; returns its output's name.</summary>
    public string Node(string opType, params string[] inputs) => NodeWith(opType, inputs);

    /// <summary>A single-output node with attributes; returns its output's name.</summary>
    public string NodeWith(string opType, string[] inputs, params (string Name, object Value)[] attributes)
    {
        string output = Fresh(opType.ToLowerInvariant());
        Node(opType, inputs, [output], attributes);
        return output;
    }

    private static void Attribute(ProtoWriter a, string name, object value)
    {
        a.String(1, name);                                      // AttributeProto.name
        switch (value)
        {
            case float f: a.Float(2, f); a.Int(20, 1); break;                       // f, type FLOAT
            case double d: a.Float(2, (float)d); a.Int(20, 1); break;
            case long i: a.Int(3, i); a.Int(20, 2); break;                          // i, type INT
            case int i: a.Int(3, i); a.Int(20, 2); break;
            case bool b: a.Int(3, b ? 1 : 0); a.Int(20, 2); break;
            case string s: a.String(4, s); a.Int(20, 3); break;                     // s, type STRING
            case long[] ints: a.PackedInts(8, ints); a.Int(20, 7); break;           // ints, type INTS
            case int[] ints: a.PackedInts(8, ints.Select(v => (long)v)); a.Int(20, 7); break;
            case float[] floats: a.PackedFloats(7, floats); a.Int(20, 6); break;    // floats, type FLOATS
            default: throw new ArgumentException($"attribute {name}: unsupported value type {value.GetType().Name}");
        }
    }

    /// <summary>Adds <paramref name="tensor"/>'s values (float32 or int64) as the initializer <paramref name="name"/> (once).</summary>
    public string Initializer(string name, Tensor tensor)
    {
        if (!_initializerNames.Add(name)) return name;
        var c = tensor.Contiguous();   // the tensor itself when contiguous: a model's parameter, not ours to dispose
        try { AddInitializer(name, tensor, c); }
        finally { if (!ReferenceEquals(c, tensor)) c.Dispose(); }
        return name;
    }

    private void AddInitializer(string name, Tensor tensor, Tensor c)
    {
        byte[] raw;
        int type;
        if (tensor.DType == DType.Float32) { raw = Raw(c.ToArray<float>()); type = Float; }
        else if (tensor.DType == DType.Int64) { raw = Raw(c.ToArray<long>()); type = Int64; }
        else if (tensor.DType == DType.Float64) { raw = Raw(Array.ConvertAll(c.ToArray<double>(), v => (float)v)); type = Float; }
        else throw new OnnxExportException($"tensor '{name}' has dtype {tensor.DType}; ONNX export writes float32 and int64 tensors");
        AddInitializer(name, tensor.Shape, type, raw);
    }

    private static byte[] Raw<T>(T[] values) where T : unmanaged => MemoryMarshal.AsBytes(values.AsSpan()).ToArray();

    /// <summary>A float32 constant of shape <paramref name="dims"/> (rank 0 when empty).</summary>
    public string Constant(float[] values, params long[] dims)
    {
        string name = Fresh("const");
        AddInitializer(name, dims, Float, MemoryMarshal.AsBytes(values.AsSpan()).ToArray());
        return name;
    }

    /// <summary>A 1-D int64 constant (shapes, axes, slice bounds).</summary>
    public string Int64s(params long[] values)
    {
        string name = Fresh("ints");
        AddInitializer(name, [values.Length], Int64, MemoryMarshal.AsBytes(values.AsSpan()).ToArray());
        return name;
    }

    private void AddInitializer(string name, long[] dims, int type, byte[] raw)
    {
        var w = new ProtoWriter();
        w.PackedInts(1, dims);      // TensorProto.dims
        w.Int(2, type);             // TensorProto.data_type
        w.String(8, name);          // TensorProto.name
        w.Bytes(9, raw);            // TensorProto.raw_data (little-endian)
        _initializers.Add(w);
    }

    /// <summary>The ModelProto bytes with one float32 graph input and output of the given shapes.</summary>
    public byte[] Model(string graphName, string input, long[] inputShape, string output, long[] outputShape)
    {
        var m = new ProtoWriter();
        m.Int(1, IrVersion);                                              // ModelProto.ir_version
        m.String(2, "Engine");                                            // producer_name
        m.String(3, typeof(OnnxGraph).Assembly.GetName().Version?.ToString() ?? "0");  // producer_version
        m.Message(7, g =>                                                 // graph
        {
            foreach (var n in _nodes) g.Bytes(1, n);                      // GraphProto.node
            g.String(2, graphName);                                       // name
            foreach (var t in _initializers) g.Message(5, t.CopyTo);      // initializer (appended by reference)
            g.Message(11, v => ValueInfo(v, input, inputShape));          // input
            g.Message(12, v => ValueInfo(v, output, outputShape));        // output
        });
        m.Message(8, o => { o.String(1, ""); o.Int(2, Opset); });          // opset_import: the default domain, opset 17
        return m.ToArray();
    }

    private static void ValueInfo(ProtoWriter v, string name, long[] shape)
    {
        v.String(1, name);                                                // ValueInfoProto.name
        v.Message(2, t => t.Message(1, tt =>                              // TypeProto.tensor_type
        {
            tt.Int(1, Float);                                             // elem_type
            tt.Message(2, s => { foreach (var d in shape) s.Message(1, dim => dim.Int(1, d)); });   // shape.dim.dim_value
        }));
    }
}
