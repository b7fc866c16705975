namespace Engine.Nn;

/// <summary>
/// PyTorch's default initialisation of convolution and linear layers: weight kaiming uniform with a = √5 (bound
/// 1/√fan_in), bias U(±1/√fan_in). A linear layer is the kernel-less case.
/// </summary>
internal static class DefaultInit
{
    /// <summary>Registers "weight" [out, in/groups, kernel…] and, when <paramref name="bias"/>, "bias" [out], both drawn from <paramref name="generator"/>.</summary>
    public static void WeightAndBias(Module owner, Func<string, Tensor?, Tensor?> register, long inChannels, long outChannels, int[] kernel, int groups, bool bias,
        DType dtype, Generator? generator)
    {
        long[] shape = [outChannels, inChannels / groups, .. kernel.Select(k => (long)k)];
        var w = register("weight", Tensor.Empty(shape, dtype, Device.Cpu, op: owner.GetType().Name))!;
        Init.KaimingUniform(w, a: Math.Sqrt(5), generator: generator);
        if (!bias) return;
        var (fanIn, _) = Init.Fans(w);
        double bound = fanIn > 0 ? 1 / Math.Sqrt(fanIn) : 0;
        var b = register("bias", Tensor.Empty([outChannels], dtype, Device.Cpu, op: owner.GetType().Name))!;
        Init.Uniform(b, -bound, bound, generator);
    }
}
