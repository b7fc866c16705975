namespace Engine.Tests.Core;

/// <summary>
/// Sizes that overflow 64-bit (or the kernels' 32-bit) arithmetic: each case once crashed, wrapped to a wrong size or
/// threw a bare .NET exception; each must now raise the engine's typed exception naming the op and the shape.
/// </summary>
public class SizeOverflowTests
{
    private static T Raises<T>(TestDelegate call, string op) where T : EngineException
    {
        var ex = Assert.Throws<T>(call)!;
        Assert.That(ex.Op, Is.EqualTo(op));
        Assert.That(ex.Message, Does.StartWith(op + ": "));
        return ex;
    }

    [Test]
    public void ElementCountsBeyond64BitsAreShapeErrors()
    {
        var ex = Raises<ShapeException>(() => Tensor.Zeros([1L << 32, 1L << 32], DType.Float32), "zeros");
        Assert.That(ex.Message, Does.Contain("[4294967296, 4294967296]"));
        Raises<ShapeException>(() => Tensor.Zeros([(1L << 61) + 1], DType.Float32), "zeros");  // 2^61+1 float32: bytes overflow
        Raises<ShapeException>(() => Tensor.Zeros([(1L << 61) + 1], DType.Float32, Device.Meta), "zeros");
        Raises<ShapeException>(() => Tensor.Randn([1L << 40, 1L << 30], DType.Float32), "randn");
        // A zero dim does not excuse the others: the strides would still overflow.
        Raises<ShapeException>(() => Tensor.Zeros([0, 1L << 40, 1L << 40], DType.Float32, Device.Meta), "zeros");
        Raises<ShapeException>(() => Tensor.Full([3, -2], 1.0), "full");
    }

    [Test]
    public void HugeButRepresentableSizesWorkOnTheMetaDevice()
    {
        using var t = Tensor.Zeros([1L << 20, 1L << 20, 1L << 20], DType.UInt8, Device.Meta);
        Assert.That(t.NumEl, Is.EqualTo(1L << 60));
        Assert.That(t.Strides, Is.EqualTo(new[] { 1L << 40, 1L << 20, 1L }));
    }

    [Test]
    public void AnAllocationBeyondTheMachinesMemoryIsATypedOutOfMemoryError()
    {
        var ex = Raises<DeviceOutOfMemoryException>(() => Tensor.Zeros([1L << 40], DType.Float32), "zeros");
        Assert.Multiple(() =>
        {
            Assert.That(ex.Device, Is.EqualTo("cpu"));
            Assert.That(ex.Requested, Is.EqualTo(4L << 40));
            Assert.That(ex.Total, Is.GreaterThan(0));
            Assert.That(ex.Message, Does.Contain("requested 4398046511104 bytes"));
        });
        Raises<DeviceOutOfMemoryException>(() => Tensor.Ones([1L << 38, 4], DType.Float64), "full");
    }

    [Test]
    public void ExpandRejectsNegativeAndOverflowingSizes()
    {
        using var scope = Tensor.NewDisposeScope();
        var t = Tensor.Randn([1, 3], DType.Float32, new Generator(1));
        Raises<ShapeException>(() => t.Expand(-2, 3), "expand");
        Raises<ShapeException>(() => t.Expand(2, -5), "expand");
        Raises<ShapeException>(() => t.Expand(1L << 32, 1L << 32, 3), "expand");
        Assert.That(t.Expand(4, -1).Shape, Is.EqualTo(new long[] { 4, 3 }));
    }

    [Test]
    public void NarrowWithAHugeStartOrLengthIsAnIndexError()
    {
        using var scope = Tensor.NewDisposeScope();
        var t = Tensor.Randn([5, 4], DType.Float32, new Generator(2));
        Raises<IndexException>(() => t.Narrow(0, long.MaxValue, 2), "narrow");
        Raises<IndexException>(() => t.Narrow(0, 2, long.MaxValue), "narrow");
        Raises<IndexException>(() => t.Narrow(1, long.MinValue, 1), "narrow");
        Assert.That(t.Narrow(0, 5, 0).Shape, Is.EqualTo(new long[] { 0, 4 }));
    }

    [Test]
    public void SliceWithAHugeStepHasTheRightLength()
    {
        using var scope = Tensor.NewDisposeScope();
        var t = Tensor.Arange(0, 10, 1, DType.Float64);
        var s = t.Slice(0, 3, long.MaxValue, long.MaxValue);
        Assert.That(s.ToArray<double>(), Is.EqualTo(new[] { 3.0 }));
        Assert.That(t.Slice(0, long.MinValue, long.MaxValue, 4).ToArray<double>(), Is.EqualTo(new[] { 0.0, 4.0, 8.0 }));
    }

    [Test]
    public void ReshapeAndViewCheckTheProductOfTheirSizes()
    {
        using var scope = Tensor.NewDisposeScope();
        var empty = Tensor.Zeros([0], DType.Float32);
        Raises<ShapeException>(() => empty.Reshape(1L << 32, 1L << 32, 0), "reshape");
        Raises<ShapeException>(() => empty.View(1L << 40, 1L << 40, -1), "view");
        var t = Tensor.Zeros([6], DType.Float32);
        Raises<ShapeException>(() => t.View(1L << 62, 4, -1), "view");
    }

    [Test]
    public void ArangeLinspaceAndOneHotRejectCountsTheyCannotHold()
    {
        using var scope = Tensor.NewDisposeScope();
        Raises<ArgumentValueException>(() => Tensor.Arange(0, 1e20), "arange");
        Raises<ArgumentValueException>(() => Tensor.Arange(0, double.PositiveInfinity), "arange");
        Raises<ArgumentValueException>(() => Tensor.Arange(double.NaN, 3), "arange");
        Raises<ArgumentValueException>(() => Tensor.Linspace(0, 1, long.MaxValue), "linspace");
        var labels = Tensor.FromArray(new long[] { 0, 2, 1 });
        Assert.Throws(Is.InstanceOf<EngineException>().And.Property("Op").EqualTo("one_hot"), () => labels.OneHot(1L << 40));
        Raises<ShapeException>(() => labels.OneHot(long.MaxValue / 2), "one_hot");
        Assert.That(labels.OneHot(3).Shape, Is.EqualTo(new long[] { 3, 3 }));
    }

    [Test]
    public void CatBroadcastAndMatMulCheckTheirResultSizes()
    {
        using var a = Tensor.Zeros([1L << 62], DType.UInt8, Device.Meta);
        using var b = Tensor.Zeros([1L << 62], DType.UInt8, Device.Meta);
        Raises<ShapeException>(() => Tensor.Cat([a, a, b]), "cat");
        using var col = Tensor.Zeros([1L << 32, 1], DType.Float32, Device.Meta);
        using var row = Tensor.Zeros([1, 1L << 32], DType.Float32, Device.Meta);
        Raises<ShapeException>(() => col.Add(row), "add");
        Raises<ShapeException>(() => col.MatMul(row), "matmul");
    }

    [Test]
    public void KernelsIndexingWithIntsRejectLargerDimensions()
    {
        using var tall = Tensor.Zeros([3_000_000_000L, 1], DType.Float32, Device.Meta);
        using var row = Tensor.Zeros([1, 2], DType.Float32, Device.Meta);
        Raises<ShapeException>(() => tall.MatMul(row), "matmul");
        using var wide = Tensor.Zeros([1, 3_000_000_000L], DType.Float32, Device.Meta);
        Raises<ShapeException>(() => wide.Softmax(1), "softmax");
        using var bytes = Tensor.Zeros([3_000_000_000L], DType.UInt8, Device.Meta);
        Raises<ShapeException>(() => bytes.ToArray<byte>(), "to_array");
        using var scalar = Tensor.Scalar(1.0);
        Raises<IndexException>(() => scalar.Select(0, 0), "select");
        Raises<IndexException>(() => scalar.Size(0), "size");
    }

    [Test]
    public void ConvolutionAndPoolingSizesBeyondTheKernels32BitRangeAreShapeErrors()
    {
        using var wide = Tensor.Zeros([1, 1, 2, 3_000_000_000L], DType.Float32, Device.Meta);
        using var w = Tensor.Zeros([1, 1, 1, 1], DType.Float32, Device.Meta);
        var ex = Raises<ShapeException>(() => Functional.Conv2d(wide, w), "conv2d");
        Assert.That(ex.Message, Does.Contain("3000000000"));
        using var big = Tensor.Zeros([1, 1, 60_000, 60_000], DType.Float32, Device.Meta); // 3.6e9 positions per plane
        Raises<ShapeException>(() => Functional.Conv2d(big, w), "conv2d");
        Raises<ShapeException>(() => Functional.MaxPool2d(big, 1), "max_pool2d");
        using var x = Tensor.Zeros([1, 1, 8, 8], DType.Float32, Device.Meta);
        using var huge = Tensor.Zeros([1, 1, 3, 3], DType.Float32, Device.Meta);
        Raises<ShapeException>(() => Functional.Conv2d(x, huge, null, [1, 1], [int.MaxValue, int.MaxValue], [1, 1]), "conv2d");
        Assert.Throws(Is.InstanceOf<EngineException>(), () => Functional.AdaptiveAvgPool2d(x, int.MaxValue, int.MaxValue));
        // Padding near 2^30 once made the window search step one position at a time (a hang); now it is direct.
        using var pooled = Functional.MaxPool2d(x, [int.MaxValue, 2], null, [int.MaxValue / 2, 0]);
        Assert.That(pooled.Shape, Is.EqualTo(new long[] { 1, 1, 1, 4 }));
        Raises<ShapeException>(() => Functional.MaxPool2d(x, [3, 3], null, [1, 1], [int.MaxValue, 1]), "max_pool2d");
    }
}
