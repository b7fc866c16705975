using Engine.Kernels.Cuda;
using Engine.Tests.Emulated;

namespace Engine.Tests.CudaTests;

/// <summary>The Philox random-fill kernels on a real GPU against the CPU (the checks of <see cref="RandomKernelTests"/>).</summary>
[NonParallelizable]
public class RandomCudaTests
{
    private static void RequireGpu()
    {
        if (!CudaProbe.IsAvailable) Assert.Ignore(CudaProbe.Reason);
    }

    [Test, Category("Cuda")]
    public void EveryKindAndDTypeMatchesTheCpu()
    {
        RequireGpu();
        RandomKernelChecks.EveryKindAndDType(Device.Cuda(0));
    }

    [Test, Category("Cuda")]
    public void TensorCreationOnTheGpuMatchesTheCpu()
    {
        RequireGpu();
        RandomKernelChecks.TensorCreation(Device.Cuda(0));
    }

    [Test, Category("Cuda")]
    public void NormalIsStandardNormalOnTheGpu()
    {
        RequireGpu();
        RandomKernelChecks.NormalMoments(Device.Cuda(0));
    }
}
