namespace Engine.Tests.Core;

public class BadInputTests
{
    [Test]
    public void NonBroadcastableShapesNameTheOpAndShapes()
    {
        using var a = Tensor.Zeros(2, 3);
        using var b = Tensor.Zeros(4);
        var ex = Assert.Throws<ShapeException>(() => a.Add(b));
        Assert.That(ex!.Message, Does.StartWith("add:").And.Contain("[2, 3]").And.Contain("[4]"));
        Assert.That(ex.Op, Is.EqualTo("add"));
    }

    [Test]
    public void MatMulInnerDimensionMismatch()
    {
        using var a = Tensor.Zeros(2, 3);
        using var b = Tensor.Zeros(4, 5);
        var ex = Assert.Throws<ShapeException>(() => a.MatMul(b));
        Assert.That(ex!.Message, Does.Contain("2x3").And.Contain("4x5"));
    }

    [Test]
    public void FloatOpOnIntegersIsADTypeError()
    {
        using var a = Tensor.Arange(4);
        var ex = Assert.Throws<DTypeException>(() => a.Exp());
        Assert.That(ex!.Message, Does.StartWith("exp:").And.Contain("int64"));
    }

    [Test]
    public void MixedDTypesAreRejected()
    {
        using var a = Tensor.Zeros(2);
        using var b = Tensor.Zeros([2], DType.Float64);
        var ex = Assert.Throws<DTypeException>(() => a.Mul(b));
        Assert.That(ex!.Message, Does.Contain("float32").And.Contain("float64"));
    }

    [Test]
    public void OutOfRangeDimAndIndex()
    {
        using var a = Tensor.Zeros(2, 3);
        Assert.That(Assert.Throws<IndexException>(() => a.Sum(2))!.Message, Does.Contain("dimension 2"));
        Assert.Throws<IndexException>(() => a.Transpose(0, -3));
        Assert.Throws<IndexException>(() => _ = a[2, 0]);
        Assert.Throws<IndexException>(() => a.Narrow(1, 2, 2));
        using var idx = Tensor.FromArray(new[] { 0L, 3L });
        var ex = Assert.Throws<IndexException>(() => a.IndexSelect(1, idx));
        Assert.That(ex!.Message, Does.Contain("index 3").And.Contain("size 3"));
        using var neg = Tensor.FromArray(new[] { -1L, 0L, 1L }, 1, 3);
        Assert.Throws<IndexException>(() => a.Gather(0, neg));
    }

    [Test]
    public void IndexMustBeInt64()
    {
        using var a = Tensor.Zeros(3);
        using var idx = Tensor.FromArray(new[] { 0, 1 });
        Assert.Throws<DTypeException>(() => a.IndexSelect(0, idx));
    }

    [Test]
    public void MixingDevicesIsADeviceError()
    {
        using var a = Tensor.Zeros(2);
        // no machine has a CUDA device 1000, with or without a GPU
        var ex = Assert.Throws<DeviceException>(() => Tensor.Zeros([2], DType.Float32, Device.Cuda(1000)));
        Assert.That(ex!.Message, Does.Contain("cuda:1000"));
    }

    [Test]
    public void InvalidShapesForViews()
    {
        using var a = Tensor.Zeros(2, 3);
        Assert.Throws<ShapeException>(() => a.View(4));
        Assert.Throws<ShapeException>(() => a.Reshape(-1, -1));
        Assert.Throws<ShapeException>(() => a.Expand(3, 3));
        Assert.Throws<ShapeException>(() => a.Permute(0));
        Assert.Throws<IndexException>(() => a.Permute(0, 0));
        Assert.Throws<ShapeException>(() => Tensor.Zeros(-1));
        Assert.Throws<ShapeException>(() => Tensor.FromArray(new[] { 1f, 2f }, 3));
    }

    [Test]
    public void CatRejectsMismatchedShapes()
    {
        using var a = Tensor.Zeros(2, 3);
        using var b = Tensor.Zeros(2, 4);
        Assert.Throws<ShapeException>(() => Tensor.Cat([a, b], 0));
        Assert.Throws<ArgumentValueException>(() => Tensor.Cat([], 0));
    }

    [Test]
    public void ToArrayWithTheWrongElementType()
    {
        using var a = Tensor.Zeros(2);
        Assert.Throws<DTypeException>(() => a.ToArray<double>());
    }

    [Test]
    public void BadArgumentsToCreation()
    {
        Assert.Throws<ArgumentValueException>(() => Tensor.Arange(0, 5, 0));
        Assert.Throws<ArgumentValueException>(() => Tensor.Arange(5, 0, 1));
        Assert.Throws<ArgumentValueException>(() => Tensor.RandInt(3, 3, [2]));
        Assert.Throws<DTypeException>(() => Tensor.Randn([2], DType.Int64));
    }
}
