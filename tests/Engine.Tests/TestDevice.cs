using Engine.Kernels;
using Engine.Kernels.Cuda;
using Engine.Kernels.Gpu;

namespace Engine.Tests;

/// <summary>
/// A device a test body runs on (candle's <c>test_device!</c>, tinygrad's <c>helper_test_op</c>): each op's check is
/// written once, in a fixture parameterised by <see cref="TestDevice"/>, and NUnit runs it on every device listed by
/// <see cref="Gpus"/> or <see cref="All"/>. A device that is absent reports the test Ignored with its reason; the CUDA
/// instances carry the category "Cuda". The emulator interprets PTX on the CPU, so a check takes its sizes from
/// <see cref="Pick"/>: small ones there, the real workload on a GPU.
/// </summary>
public sealed class TestDevice
{
    /// <summary>The CPU backend (the reference the GPU kernels are checked against).</summary>
    public static readonly TestDevice Cpu = new("cpu", Device.Cpu);

    /// <summary>The PTX emulator: every GPU kernel, with bounds and race checks, on any machine.</summary>
    public static readonly TestDevice Emulated = new("emulated", Device.Emulated);

    /// <summary>CUDA device 0; tests on it report Ignored when <see cref="CudaProbe.IsAvailable"/> is false.</summary>
    public static readonly TestDevice Cuda = new("cuda", Device.Cuda(0));

    private TestDevice(string name, Device device) => (Name, Device) = (name, device);

    /// <summary>"cpu", "emulated" or "cuda": the fixture's argument in test names.</summary>
    public string Name { get; }

    /// <summary>The engine device.</summary>
    public Device Device { get; }

    /// <summary>True on a real GPU.</summary>
    public bool IsCuda => Device.Type == DeviceType.Cuda;

    /// <summary>The GPU backend of this device (emulated or CUDA).</summary>
    public GpuBackend Gpu => (GpuBackend)Backends.For(Device);

    /// <summary>Reports the running test Ignored, with the reason, when this device is absent.</summary>
    public void Require()
    {
        if (IsCuda && !CudaProbe.IsAvailable) Assert.Ignore(CudaProbe.Reason);
    }

    /// <summary>Reports the running test Ignored on a real GPU, saying <paramref name="why"/> (a check only the emulator can make).</summary>
    public void RequireEmulator(string why)
    {
        if (IsCuda) Assert.Ignore(why);
    }

    /// <summary>A size or case list: <paramref name="emulated"/> on the (slow) emulator and the CPU, <paramref name="cuda"/> on a GPU.</summary>
    public T Pick<T>(T emulated, T cuda) => IsCuda ? cuda : emulated;

    /// <inheritdoc/>
    public override string ToString() => Name;

    /// <summary>The GPU devices (emulated, CUDA): the fixture source of the GPU kernel tests.</summary>
    public static IEnumerable<TestFixtureData> Gpus() => [Fixture(Emulated), Fixture(Cuda)];

    /// <summary>Every device (CPU, emulated, CUDA).</summary>
    public static IEnumerable<TestFixtureData> All() => [Fixture(Cpu), Fixture(Emulated), Fixture(Cuda)];

    private static TestFixtureData Fixture(TestDevice d)
    {
        var data = new TestFixtureData(d).SetArgDisplayNames(d.Name);
        if (d.IsCuda) data.Properties.Add(NUnit.Framework.Internal.PropertyNames.Category, "Cuda");
        return data;
    }
}

/// <summary>
/// The base of a fixture whose tests run on each <see cref="TestDevice"/>: <see cref="Dev"/> is the device, and the
/// set-up reports a test Ignored when the device is absent. Use with
/// <c>[TestFixtureSource(typeof(TestDevice), nameof(TestDevice.Gpus))]</c>.
/// </summary>
[NonParallelizable]
public abstract class DeviceTests(TestDevice device)
{
    /// <summary>The device this fixture instance runs on.</summary>
    protected TestDevice Dev { get; } = device;

    /// <summary>Its engine device.</summary>
    protected Device Device => Dev.Device;

    /// <summary>Its GPU backend.</summary>
    protected GpuBackend Gpu => Dev.Gpu;

    /// <summary>The CPU backend, the reference.</summary>
    protected static IBackend Cpu => Backends.For(Engine.Device.Cpu);

    /// <summary>Ignores the test when the device is absent.</summary>
    [SetUp]
    public void RequireDevice() => Dev.Require();
}
