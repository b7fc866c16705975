using Engine.Kernels.Cuda;

namespace Engine.Tests.CudaTests;

public class CudaProbeTests
{
    [Test]
    public void AvailabilityAgreesWithTheDevicesFoundAndExplainsItself()
    {
        if (CudaProbe.IsAvailable)
        {
            Assert.That(CudaProbe.Devices, Is.Not.Empty);
            Assert.That(CudaProbe.Reason, Is.EqualTo("available"));
        }
        else
        {
            Assert.That(CudaProbe.Devices, Is.Empty);
            Assert.That(CudaProbe.Reason, Does.Contain("cu").IgnoreCase, "the reason names what failed");
        }
    }

    [Test]
    public void TheSearchPathHonoursTheOverrideAndTheUsualLocations()
    {
        var dirs = NativeLibraries.SearchDirectories();
        Assert.That(dirs, Does.Contain("/usr/local/cuda/lib64").And.Contain("/usr/lib/x86_64-linux-gnu"));
    }

    [Test, Category("Cuda")]
    public void ReportsEveryDeviceOnAGpuMachine()
    {
        if (!CudaProbe.IsAvailable) Assert.Ignore($"no CUDA device: {CudaProbe.Reason}");
        foreach (var d in CudaProbe.Devices)
        {
            Assert.That(d.TotalMemoryBytes, Is.GreaterThan(1L << 30), d.Name);
            Assert.That(d.ComputeMajor, Is.GreaterThanOrEqualTo(5), d.Name);
        }
        Assert.That(CudaProbe.DriverVersion, Is.GreaterThanOrEqualTo(11000));
    }
}
