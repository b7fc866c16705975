using Engine.Kernels.Cuda;
using Engine.Tests.Emulated;

namespace Engine.Tests.CudaTests;

/// <summary>The CutMix kernels on a real GPU against the CPU (the checks of <see cref="CutMixKernelTests"/>).</summary>
[NonParallelizable]
public class CutMixCudaTests
{
    private static void RequireGpu()
    {
        if (!CudaProbe.IsAvailable) Assert.Ignore(CudaProbe.Reason);
    }

    [Test, Category("Cuda")]
    public void ImagesMatchTheCpuAndTheOracleInBothForms()
    {
        RequireGpu();
        CutMixKernelChecks.ImagesBothForms(Device.Cuda(0));
    }

    [Test, Category("Cuda")]
    public void SoftLabelsMatchTheCpuBitForBit()
    {
        RequireGpu();
        CutMixKernelChecks.Labels(Device.Cuda(0));
    }

    [Test, Category("Cuda")]
    public void SameSeedSameResultOnBothDevices()
    {
        RequireGpu();
        CutMixKernelChecks.SameSeed(Device.Cuda(0));
    }

    [Test, Category("Cuda")]
    public void BadInputIsRejectedBeforeAnyLaunch()
    {
        RequireGpu();
        CutMixKernelChecks.BadInput(Device.Cuda(0));
    }
}
