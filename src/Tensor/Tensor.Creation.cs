using System.Runtime.InteropServices;
using Engine.Kernels;

namespace Engine;

public sealed partial class Tensor
{
    /// <summary>A tensor of zeros.</summary>
    public static Tensor Zeros(params long[] shape) => Zeros(shape, DType.Float32);

    /// <summary>A tensor of zeros of the given dtype and device.</summary>
    public static Tensor Zeros(long[] shape, DType dtype, Device? device = null) => Empty(shape, dtype, device ?? Device.Cpu, zero: true, op: "zeros");

    /// <summary>A tensor of ones.</summary>
    public static Tensor Ones(params long[] shape) => Full(shape, 1.0);

    /// <summary>A tensor of ones of the given dtype and device.</summary>
    public static Tensor Ones(long[] shape, DType dtype, Device? device = null) => Full(shape, 1.0, dtype, device);

    /// <summary>A tensor filled with <paramref name="value"/>.</summary>
    public static Tensor Full(long[] shape, double value, DType dtype = DType.Float32, Device? device = null)
    {
        var t = Empty(shape, dtype, device ?? Device.Cpu, op: "full");
        t.Backend.Fill(t.View("full"), value);
        return t;
    }

    /// <summary>A scalar (0-dimensional) tensor.</summary>
    public static Tensor Scalar(double value, DType dtype = DType.Float32, Device? device = null) => Full([], value, dtype, device);

    /// <summary>Zeros shaped like <paramref name="t"/>, on its device, of its dtype unless given.</summary>
    public static Tensor ZerosLike(Tensor t, DType? dtype = null) => Zeros(t._shape, dtype ?? t.DType, t.Device);

    /// <summary>Ones shaped like <paramref name="t"/>.</summary>
    public static Tensor OnesLike(Tensor t, DType? dtype = null) => Full(t._shape, 1.0, dtype ?? t.DType, t.Device);

    /// <summary>A tensor shaped like <paramref name="t"/> filled with <paramref name="value"/>.</summary>
    public static Tensor FullLike(Tensor t, double value, DType? dtype = null) => Full(t._shape, value, dtype ?? t.DType, t.Device);

    /// <summary>Values start, start+step, … below end (PyTorch's arange). Float32 unless a dtype is given.</summary>
    public static Tensor Arange(double start, double end, double step = 1, DType dtype = DType.Float32, Device? device = null)
    {
        if (step == 0 || !double.IsFinite(step)) throw new ArgumentValueException("arange", $"step must be finite and non-zero, got {step}");
        if (!double.IsFinite(start) || !double.IsFinite(end)) throw new ArgumentValueException("arange", $"start and end must be finite, got [{start}, {end})");
        if ((end - start) / step < 0) throw new ArgumentValueException("arange", $"the range [{start}, {end}) with step {step} goes the wrong way");
        double count = Math.Ceiling((end - start) / step);
        long n = StagedCount("arange", count, $"the range [{start}, {end}) with step {step}");
        var v = new double[n];
        for (long i = 0; i < n; i++) v[i] = start + i * step;
        return FromDoubles(v, dtype, device);
    }

    /// <summary>Integers 0 … end-1 as int64.</summary>
    public static Tensor Arange(long end) => Arange(0, end, 1, DType.Int64);

    /// <summary><paramref name="steps"/> evenly spaced values from start to end inclusive.</summary>
    public static Tensor Linspace(double start, double end, long steps, DType dtype = DType.Float32, Device? device = null)
    {
        if (steps < 0) throw new ArgumentValueException("linspace", $"number of steps must be non-negative, got {steps}");
        var v = new double[StagedCount("linspace", steps, $"{steps} steps")];
        if (steps == 1) v[0] = start;
        else if (steps > 1)
        {
            // As PyTorch: the first half steps up from start, the second half down from end (symmetric rounding).
            double step = (end - start) / (steps - 1);
            long half = steps / 2;
            for (long i = 0; i < steps; i++) v[i] = i < half ? start + step * i : end - step * (steps - 1 - i);
        }
        return FromDoubles(v, dtype, device);
    }

    // arange and linspace compute their values in a float64 array: more than an array holds is an error naming the op.
    private static long StagedCount(string op, double count, string what)
    {
        if (!(count <= Array.MaxLength))
            throw new ArgumentValueException(op, $"{what} has {count:G6} elements, more than the {Array.MaxLength} one tensor of this op can hold");
        Engine.Kernels.Cpu.HostBlockCache.CheckFits(op, (long)count * sizeof(double));
        return (long)count;
    }

    /// <summary>A 1-D tensor of <paramref name="v"/> converted to <paramref name="dtype"/>, freeing the float64 staging tensor.</summary>
    private static Tensor FromDoubles(double[] v, DType dtype, Device? device)
    {
        var staged = FromArray(v, [v.LongLength]);
        var t = staged.ToOwned(dtype, device);
        if (!ReferenceEquals(t, staged)) staged.Dispose();
        return t;
    }

    /// <summary>An n×m matrix with ones on the diagonal (m defaults to n).</summary>
    public static Tensor Eye(long n, long m = -1, DType dtype = DType.Float32, Device? device = null)
    {
        if (m < 0) m = n;
        var t = Zeros([n, m], dtype, device);
        long d = Math.Min(n, m);
        t.Backend.Fill(t.View("eye").With([d], [m + 1]), 1.0);
        return t;
    }

    /// <summary>Uniform random numbers on [0, 1).</summary>
    public static Tensor Rand(params long[] shape) => Rand(shape, DType.Float32);

    /// <summary>Uniform random numbers on [0, 1) from <paramref name="generator"/> (default: <see cref="Generator.Default"/>).</summary>
    public static Tensor Rand(long[] shape, DType dtype, Generator? generator = null, Device? device = null) =>
        Random("rand", shape, dtype, RandomKind.Uniform, 0, 1, generator, device);

    /// <summary>Standard normal random numbers.</summary>
    public static Tensor Randn(params long[] shape) => Randn(shape, DType.Float32);

    /// <summary>Standard normal random numbers from <paramref name="generator"/>.</summary>
    public static Tensor Randn(long[] shape, DType dtype, Generator? generator = null, Device? device = null) =>
        Random("randn", shape, dtype, RandomKind.Normal, 0, 1, generator, device);

    /// <summary>Random integers uniform on [low, high), int64 unless given.</summary>
    public static Tensor RandInt(long low, long high, long[] shape, DType dtype = DType.Int64, Generator? generator = null, Device? device = null)
    {
        if (high <= low) throw new ArgumentValueException("randint", $"expected low < high, got low={low}, high={high}");
        return Random("randint", shape, dtype, RandomKind.Integer, low, high, generator, device);
    }

    /// <summary>Uniform on [low, high).</summary>
    public static Tensor Uniform(long[] shape, double low, double high, DType dtype = DType.Float32, Generator? generator = null, Device? device = null)
    {
        if (!(high >= low)) throw new ArgumentValueException("uniform", $"expected low <= high, got low={low}, high={high}");
        return Random("uniform", shape, dtype, RandomKind.Uniform, low, high, generator, device);
    }

    /// <summary>Normal with the given mean and standard deviation.</summary>
    public static Tensor Normal(long[] shape, double mean, double std, DType dtype = DType.Float32, Generator? generator = null, Device? device = null)
    {
        if (!(std >= 0)) throw new ArgumentValueException("normal", $"std must be non-negative, got {std}");
        return Random("normal", shape, dtype, RandomKind.Normal, mean, std, generator, device);
    }

    /// <summary>1 with probability <paramref name="p"/>, else 0.</summary>
    public static Tensor Bernoulli(long[] shape, double p, DType dtype = DType.Float32, Generator? generator = null, Device? device = null)
    {
        if (!(p >= 0 && p <= 1)) throw new ArgumentValueException("bernoulli", $"p must be in [0, 1], got {p}");
        return Random("bernoulli", shape, dtype, RandomKind.Bernoulli, p, 0, generator, device);
    }

    private static Tensor Random(string op, long[] shape, DType dtype, RandomKind kind, double a, double b, Generator? g, Device? device)
    {
        if (kind is RandomKind.Uniform or RandomKind.Normal && !dtype.IsFloatingPoint())
            throw new DTypeException(op, $"expected a floating-point dtype, got {dtype.Name()}");
        if (dtype == DType.Bool && kind != RandomKind.Bernoulli) throw new DTypeException(op, "bool tensors cannot hold random numbers");
        var t = Empty(shape, dtype, device ?? Device.Cpu, op: op);
        var (seed, offset) = (g ?? Generator.Default).Take(t.NumEl);
        t.Backend.FillRandom(t.View(op), kind, seed, offset, a, b);
        return t;
    }

    /// <summary>Reseeds the default generator.</summary>
    public static void ManualSeed(ulong seed) => Generator.Default.ManualSeed(seed);

    /// <summary>A tensor holding a copy of <paramref name="data"/> with the given shape (1-D when omitted).</summary>
    public static Tensor FromArray<T>(T[] data, params long[] shape) where T : unmanaged => FromSpan<T>(data, shape.Length == 0 ? [data.LongLength] : shape);

    /// <summary>A tensor holding a copy of <paramref name="data"/> with the given shape, on the CPU.</summary>
    public static Tensor FromSpan<T>(ReadOnlySpan<T> data, long[] shape) where T : unmanaged
    {
        var dtype = DTypeOf<T>("from_array");
        if (ShapeUtil.NumEl(shape) != data.Length)
            throw new ShapeException("from_array", $"{data.Length} values do not fill shape {ShapeUtil.Format(shape)}");
        var t = Empty(shape, dtype, Device.Cpu, op: "from_array");
        t.Backend.CopyFromHost(t.View("from_array"), MemoryMarshal.AsBytes(data));
        return t;
    }

    /// <summary>The dtype matching a CLR element type.</summary>
    internal static DType DTypeOf<T>(string op) where T : unmanaged
    {
        if (typeof(T) == typeof(float)) return DType.Float32;
        if (typeof(T) == typeof(double)) return DType.Float64;
        if (typeof(T) == typeof(long)) return DType.Int64;
        if (typeof(T) == typeof(int)) return DType.Int32;
        if (typeof(T) == typeof(byte)) return DType.UInt8;
        if (typeof(T) == typeof(bool)) return DType.Bool;
        throw new DTypeException(op, $"element type {typeof(T).Name} has no tensor dtype");
    }

    /// <summary>Copies the elements (row-major) into a new array; <typeparamref name="T"/> must match the dtype.</summary>
    public T[] ToArray<T>() where T : unmanaged
    {
        var want = DTypeOf<T>("to_array");
        if (want != DType)
            throw new DTypeException("to_array", $"tensor has dtype {DType.Name()} but {typeof(T).Name}[] was requested");
        if (NumEl > Array.MaxLength)
            throw new ShapeException("to_array", $"a tensor of shape {ShapeUtil.Format(_shape)} has {NumEl} elements, more than a .NET array holds ({Array.MaxLength})");
        var result = new T[NumEl];
        using var c = ContiguousNoGrad();
        Backend.CopyToHost(c.View("to_array"), MemoryMarshal.AsBytes(result.AsSpan()));
        return result;
    }

    /// <summary>The elements converted to double, row-major (any dtype).</summary>
    public double[] ToDoubleArray()
    {
        using var _ = GradMode.Disable();
        using var d = ToOwned(DType.Float64, Device.Cpu, copy: true);
        return d.ToArray<double>();
    }

    /// <summary>The value of a one-element tensor.</summary>
    public double Item()
    {
        if (NumEl != 1) throw new ShapeException("item", $"only one-element tensors can be converted to a scalar, got shape {ShapeUtil.Format(_shape)}");
        return ToDoubleArray()[0];
    }

    /// <summary>The element at <paramref name="index"/> (negative indices count from the end), as double.</summary>
    [System.Runtime.CompilerServices.IndexerName("ElementAt")]
    public double this[params long[] index]
    {
        get
        {
            long off = ElementOffset("index", index);
            using var one = new Tensor(StorageOf("index"), [], [], off, DType, shareStorage: true);
            return one.ToDoubleArray()[0];
        }
    }

    internal long ElementOffset(string op, long[] index)
    {
        if (index.Length != Rank)
            throw new IndexException(op, $"expected {Rank} indices for shape {ShapeUtil.Format(_shape)}, got {index.Length}");
        long off = _offset;
        for (int d = 0; d < Rank; d++)
        {
            long i = index[d] < 0 ? index[d] + _shape[d] : index[d];
            if (i < 0 || i >= _shape[d])
                throw new IndexException(op, $"index {index[d]} is out of bounds for dimension {d} with size {_shape[d]}");
            off += i * _strides[d];
        }
        return off;
    }
}
