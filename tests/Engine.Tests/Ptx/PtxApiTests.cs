using System.Text.RegularExpressions;
using Engine.Kernels.Ptx;
using static Engine.Tests.Ptx.PtxHarness;

namespace Engine.Tests.Ptx;

/// <summary>The researcher-facing API: parameter packing, device memory, launch checks, traces, the README example.</summary>
public class PtxApiTests
{
    private const string Params = """
        .visible .entry many(
            .param .u32 n,
            .param .u64 ptr,
            .param .f32 x,
            .param .align 4 .b8 blob[12],
            .param .f64 y,
            .param .u8 small
        )
        {
            ret;
        }
        """;

    [Test]
    public void ParametersArePackedWithCudaAlignment()
    {
        var k = Load(Params).GetKernel("many");
        Assert.That(k.Parameters.Select(p => (p.Name, p.Offset, p.Size)),
            Is.EqualTo(new[] { ("n", 0, 4), ("ptr", 8, 8), ("x", 16, 4), ("blob", 20, 12), ("y", 32, 8), ("small", 40, 1) }));
        Assert.That(k.ParameterBytes, Is.EqualTo(41));
        var buf = k.PackArguments(7, new DeviceBuffer(0x7F00_0000_1000, 16), 1.5f, new byte[12], 2.5, (byte)9);
        Assert.That(BitConverter.ToUInt32(buf, 0), Is.EqualTo(7u));
        Assert.That(BitConverter.ToUInt64(buf, 8), Is.EqualTo(0x7F00_0000_1000UL));
        Assert.That(BitConverter.ToSingle(buf, 16), Is.EqualTo(1.5f));
        Assert.That(BitConverter.ToDouble(buf, 32), Is.EqualTo(2.5));
        Assert.That(buf[40], Is.EqualTo(9));
    }

    [Test]
    public void BadArgumentsAreRejected()
    {
        var k = Load(Params).GetKernel("many");
        var ok = new object[] { 7, 0UL, 1f, new byte[12], 2.0, 1 };
        Assert.That(Assert.Throws<ArgumentValueException>(() => k.PackArguments(7))!.Message, Does.Contain("takes 6 argument(s)"));
        Assert.That(Assert.Throws<ArgumentValueException>(() => k.PackArguments(With(ok, 2, 1.0)))!.Message, Does.Contain("needs a float"));
        Assert.That(Assert.Throws<ArgumentValueException>(() => k.PackArguments(With(ok, 4, 2f)))!.Message, Does.Contain("needs a double"));
        Assert.That(Assert.Throws<ArgumentValueException>(() => k.PackArguments(With(ok, 0, 1.5f)))!.Message, Does.Contain("needs an integer"));
        Assert.That(Assert.Throws<ArgumentValueException>(() => k.PackArguments(With(ok, 5, 300)))!.Message, Does.Contain("does not fit in 8 bits"));
        Assert.That(Assert.Throws<ArgumentValueException>(() => k.PackArguments(With(ok, 0, new DeviceBuffer(1, 1))))!.Message, Does.Contain("64-bit parameter"));
        Assert.That(Assert.Throws<ArgumentValueException>(() => k.PackArguments(With(ok, 3, new byte[8])))!.Message, Does.Contain("byte[12]"));
        Assert.DoesNotThrow(() => k.PackArguments(ok));

        static object[] With(object[] a, int i, object v)
        {
            var c = (object[])a.Clone();
            c[i] = v;
            return c;
        }
    }

    [Test]
    public void LaunchConfigurationIsChecked()
    {
        var module = Load(PtxKernels.BlockSum());
        using var dev = new EmulatedDevice();
        var a = dev.Alloc(1024);
        Assert.Throws<ArgumentValueException>(() => dev.Launch(module, "block_sum", 1, 2048, 0, a, a, 1));
        Assert.Throws<ArgumentValueException>(() => dev.Launch(module, "block_sum", 1, (32, 32, 2), 0, a, a, 1));
        Assert.Throws<ArgumentValueException>(() => dev.Launch(module, "block_sum", 0, 32, 0, a, a, 1));
        Assert.That(Assert.Throws<ArgumentValueException>(() => dev.Launch(module, "block_sum", 1, 32, 200_000, a, a, 1))!.Message, Does.Contain("shared memory"));
        Assert.That(Assert.Throws<ArgumentValueException>(() => dev.Launch(module, "nope", 1, 32, 0))!.Message, Does.Contain("block_sum"));
        Assert.That(module.KernelNames, Is.EqualTo(new[] { "block_sum" }));
        Assert.That((module.Version, module.Target), Is.EqualTo(("7.0", "sm_80")));
    }

    [Test]
    public void DeviceMemoryHasGuardedNonZeroAddresses()
    {
        using var dev = new EmulatedDevice();
        var a = dev.Alloc(100);
        var b = dev.Alloc(new[] { 1, 2, 3 });
        Assert.That(a.Address, Is.EqualTo(dev.AddressBase));
        Assert.That(b.Address, Is.GreaterThan(a.Address + 100 + 4096));
        Assert.That(b.Address % 256, Is.Zero);
        Assert.That(dev.Download<int>(b), Is.EqualTo(new[] { 1, 2, 3 }));
        dev.Upload(b, new[] { 9 }, byteOffset: 4);
        Assert.That(dev.Download<int>(b), Is.EqualTo(new[] { 1, 9, 3 }));
        dev.Memset(a, 0xFF);
        Assert.That(dev.Download<byte>(a), Is.All.EqualTo(0xFF));
        Assert.That(dev.LiveBytes, Is.EqualTo(112));
        dev.Free(a);
        Assert.That(dev.LiveBytes, Is.EqualTo(12));
        Assert.Throws<ArgumentValueException>(() => dev.Free(a));
        Assert.Throws<ArgumentValueException>(() => dev.Upload(b, new int[4]));
        Assert.That(dev.Device, Is.EqualTo(Device.Emulated));
    }

    [Test]
    public void TraceRecordsOneThreadInstructionByInstruction()
    {
        var module = Load(PtxKernels.VectorAdd);
        using var dev = new EmulatedDevice();
        var a = dev.Alloc(new[] { 1f, 2f, 3f });
        var b = dev.Alloc(new[] { 10f, 20f, 30f });
        var c = dev.Alloc(12);
        var r = dev.LaunchTraced(module, "vadd", 1, 32, 0, (0, 0, 0), (2, 0, 0), a, b, c, 3);
        Assert.That(r.Trace, Has.Some.Matches<string>(s => s.Contains("mov.u32         %r5, %tid.x;") && s.EndsWith("%r5 = 0x2 (2)", StringComparison.Ordinal)));
        Assert.That(r.Trace, Has.Some.Matches<string>(s => s.Contains("add.f32") && s.EndsWith("%f3 = 33", StringComparison.Ordinal)));
        Assert.That(r.Trace, Has.Some.Matches<string>(s => s.Contains("@%p1 bra") && s.EndsWith("skipped (guard false)", StringComparison.Ordinal)));
        Assert.That(r.Trace[^1], Does.EndWith("thread exits"));
        Assert.That(Regex.IsMatch(r.Trace[0], @"^\s*\d+: ld\.param"), r.Trace[0]);
        var idle = dev.LaunchTraced(module, "vadd", 1, 32, 0, (0, 0, 0), (30, 0, 0), a, b, c, 3);
        Assert.That(idle.Trace, Has.Some.Matches<string>(s => s.Contains("@%p1 bra") && s.Contains("-> line")));
        Assert.That(dev.Launch(module, "vadd", 1, 32, 0, a, b, c, 3).Trace, Is.Empty);
    }

    [Test]
    public void Dim3ConvertsFromIntegersAndTuples()
    {
        Dim3 a = 5, b = (2, 3), c = (2, 3, 4);
        Assert.That((a, b, c), Is.EqualTo((new Dim3(5, 1, 1), new Dim3(2, 3, 1), new Dim3(2, 3, 4))));
        Assert.That(c.Count, Is.EqualTo(24));
        Assert.That(c.ToString(), Is.EqualTo("(2,3,4)"));
    }

    /// <summary>Runs the PTX example of the README's emulator section, so the documentation stays correct.</summary>
    [Test]
    public void TheReadmePtxExampleRuns()
    {
        var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory);
        while (dir != null && !File.Exists(Path.Combine(dir.FullName, "README.md"))) dir = dir.Parent;
        Assert.That(dir, Is.Not.Null, "README.md not found above the test directory");
        var readme = File.ReadAllText(Path.Combine(dir!.FullName, "README.md"));
        var m = Regex.Match(readme, "```ptx\n(.*?)```", RegexOptions.Singleline);
        Assert.That(m.Success, "the README has a ```ptx block");
        var module = PtxModule.Load(Dump(m.Groups[1].Value));

        // The README's host code.
        using var dev = new EmulatedDevice();
        int n = 1000;
        float[] x = Enumerable.Range(0, n).Select(i => (float)i).ToArray();
        float[] y = Enumerable.Range(0, n).Select(i => 2f * i).ToArray();
        var dx = dev.Alloc(x);
        var dy = dev.Alloc(y);
        var dz = dev.Alloc(n * sizeof(float));
        dev.Launch(module, "vadd", grid: (n + 255) / 256, block: 256, sharedBytes: 0, dx, dy, dz, n);
        float[] z = dev.Download<float>(dz);
        Assert.That(z, Is.EqualTo(x.Zip(y, (p, q) => p + q).ToArray()));
    }
}
