namespace Engine.Tests;

public class SmokeTests
{
    [Test]
    public void Runs() => Assert.That(int.Parse("2"), Is.EqualTo(2));
}
