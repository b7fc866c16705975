using Engine.Kernels.Gpu;
using Engine.Kernels.Ptx;

namespace Engine.Tests.Emulated;

/// <summary>The embedded hand-written PTX modules: each is found by name, has its header comment and loads in the emulator.</summary>
public class HandWrittenPtxTests
{
    [Test]
    public void EveryModuleLoadsInTheEmulatorAndStartsWithAHeaderComment()
    {
        Assert.That(HandWrittenPtx.Names, Is.Not.Empty);
        foreach (var name in HandWrittenPtx.Names)
        {
            string text = HandWrittenPtx.Text(name);
            Assert.That(text.TrimStart(), Does.StartWith("//"), $"{name}.ptx starts with its header comment");
            Assert.That(text, Does.Contain(".version 7.").And.Contain(".target sm_80"), $"{name}.ptx targets PTX 7.x / sm_80");
            Assert.DoesNotThrow(() => PtxModule.Load(text), $"{name}.ptx loads in the emulator");
        }
    }

    [Test]
    public void AnUnknownModuleIsATypedErrorListingTheModules()
    {
        var e = Assert.Throws<ArgumentValueException>(() => HandWrittenPtx.Text("no_such_module"));
        Assert.That(e!.Message, Does.Contain("no_such_module"));
    }
}
