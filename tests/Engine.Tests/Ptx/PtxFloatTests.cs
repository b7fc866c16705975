using static Engine.Tests.Ptx.PtxHarness;

namespace Engine.Tests.Ptx;

/// <summary>Floating-point instructions: IEEE results, directed rounding, .ftz, .sat, NaN handling in min/max and
/// setp, conversions, and the .approx functions against the hardware's documented error bounds.</summary>
public class PtxFloatTests
{
    private const ulong NaN32 = 0x7FFF_FFFF;   // the GPU's canonical single-precision NaN

    [Test]
    public void ArithmeticMatchesIeeeSinglePrecisionOnRandomInputs()
    {
        var rnd = TestContext.CurrentContext.Random;
        var rows = new ulong[256][];
        for (int i = 0; i < rows.Length; i++)
        {
            float a = (float)((rnd.NextDouble() - 0.5) * Math.Pow(2, rnd.Next(-20, 20)));
            float b = (float)((rnd.NextDouble() - 0.5) * Math.Pow(2, rnd.Next(-20, 20)));
            float c = (float)((rnd.NextDouble() - 0.5) * 8);
            rows[i] = [F(a), F(b), F(c)];
        }
        (string Code, Func<float, float, float, float> Ref)[] ops =
        [
            ("add.f32 %d, %a, %b;", (a, b, _) => a + b),
            ("sub.rn.f32 %d, %a, %b;", (a, b, _) => a - b),
            ("mul.f32 %d, %a, %b;", (a, b, _) => a * b),
            ("div.rn.f32 %d, %a, %b;", (a, b, _) => a / b),
            ("fma.rn.f32 %d, %a, %b, %c;", (a, b, c) => MathF.FusedMultiplyAdd(a, b, c)),
            ("mad.rn.f32 %d, %a, %b, %c;", (a, b, c) => MathF.FusedMultiplyAdd(a, b, c)),
            ("sqrt.rn.f32 %f0, %a;\nabs.f32 %d, %f0;", (a, _, _) => MathF.Abs(MathF.Sqrt(a))),
            ("rcp.rn.f32 %d, %a;", (a, _, _) => 1f / a),
        ];
        foreach (var (code, reference) in ops)
        {
            var got = Apply(".f32", ".f32", code, rows);
            for (int i = 0; i < rows.Length; i++)
            {
                float expect = reference(ToF(rows[i][0]), ToF(rows[i][1]), ToF(rows[i][2]));
                ulong want = float.IsNaN(expect) ? NaN32 : F(expect);
                Assert.That(got[i].D, Is.EqualTo(want), $"{code} row {i}");
            }
        }
    }

    [Test]
    public void DoublePrecisionArithmetic()
    {
        double a = 1.0 / 3, b = Math.PI, c = -2.5;
        Assert.That(ToD(Apply1(".f64", ".f64", "add.f64 %d, %a, %b;", D(a), D(b))), Is.EqualTo(a + b));
        Assert.That(ToD(Apply1(".f64", ".f64", "mul.rn.f64 %d, %a, %b;", D(a), D(b))), Is.EqualTo(a * b));
        Assert.That(ToD(Apply1(".f64", ".f64", "div.rn.f64 %d, %a, %b;", D(a), D(b))), Is.EqualTo(a / b));
        Assert.That(ToD(Apply1(".f64", ".f64", "fma.rn.f64 %d, %a, %b, %c;", D(a), D(b), D(c))), Is.EqualTo(Math.FusedMultiplyAdd(a, b, c)));
        Assert.That(ToD(Apply1(".f64", ".f64", "sqrt.rn.f64 %d, %a;", D(b))), Is.EqualTo(Math.Sqrt(b)));
        Assert.That(ToD(Apply1(".f64", ".f64", "rcp.rn.f64 %d, %a;", D(b))), Is.EqualTo(1 / b));
        Assert.That(ToD(Apply1(".f64", ".f64", "neg.f64 %d, %a;", D(b))), Is.EqualTo(-b));
        Assert.That(ToD(Apply1(".f64", ".f64", "abs.f64 %d, %a;", D(c))), Is.EqualTo(2.5));
        Assert.That(ToD(Apply1(".f64", ".f64", "min.f64 %d, %a, %b;", D(double.NaN), D(2))), Is.EqualTo(2.0));
        Assert.That(ToD(Apply1(".f64", ".f64", "max.f64 %d, %a, %b;", D(-1), D(double.NaN))), Is.EqualTo(-1.0));
        Assert.That(ToD(Apply1(".f64", ".f64", "rsqrt.approx.f64 %d, %a;", D(4))), Is.EqualTo(0.5));
    }

    // Directed rounding, worked by hand: 1 + 2^-30 lies strictly between 1 and the next float up, and so on.
    [TestCase("add.rn.f32 %d, %a, %b;", 0x3F80_0000UL, 0x3080_0000UL, ExpectedResult = 0x3F80_0000UL)]
    [TestCase("add.rz.f32 %d, %a, %b;", 0x3F80_0000UL, 0x3080_0000UL, ExpectedResult = 0x3F80_0000UL)]
    [TestCase("add.rm.f32 %d, %a, %b;", 0x3F80_0000UL, 0x3080_0000UL, ExpectedResult = 0x3F80_0000UL)]
    [TestCase("add.rp.f32 %d, %a, %b;", 0x3F80_0000UL, 0x3080_0000UL, ExpectedResult = 0x3F80_0001UL)]
    [TestCase("add.rm.f32 %d, %a, %b;", 0xBF80_0000UL, 0xB080_0000UL, ExpectedResult = 0xBF80_0001UL)]
    [TestCase("add.rz.f32 %d, %a, %b;", 0xBF80_0000UL, 0xB080_0000UL, ExpectedResult = 0xBF80_0000UL)]
    [TestCase("add.rp.f32 %d, %a, %b;", 0xBF80_0000UL, 0xB080_0000UL, ExpectedResult = 0xBF80_0000UL)]
    [TestCase("add.rm.f32 %d, %a, %b;", 0x3F80_0000UL, 0xBF80_0000UL, ExpectedResult = 0x8000_0000UL)]
    [TestCase("add.rn.f32 %d, %a, %b;", 0x3F80_0000UL, 0xBF80_0000UL, ExpectedResult = 0UL)]
    [TestCase("sub.rp.f32 %d, %a, %b;", 0x3F80_0000UL, 0xB080_0000UL, ExpectedResult = 0x3F80_0001UL)]
    [TestCase("mul.rn.f32 %d, %a, %b;", 0x3F80_0001UL, 0x3F80_0001UL, ExpectedResult = 0x3F80_0002UL)]
    [TestCase("mul.rz.f32 %d, %a, %b;", 0x3F80_0001UL, 0x3F80_0001UL, ExpectedResult = 0x3F80_0002UL)]
    [TestCase("mul.rp.f32 %d, %a, %b;", 0x3F80_0001UL, 0x3F80_0001UL, ExpectedResult = 0x3F80_0003UL)]
    [TestCase("mul.rn.f32 %d, %a, %b;", 0x7E61_D7C6UL, 0x4120_0000UL, ExpectedResult = 0x7F80_0000UL)]
    [TestCase("mul.rz.f32 %d, %a, %b;", 0x7E61_D7C6UL, 0x4120_0000UL, ExpectedResult = 0x7F7F_FFFFUL)]
    [TestCase("mul.rm.f32 %d, %a, %b;", 0xFE61_D7C6UL, 0x4120_0000UL, ExpectedResult = 0xFF80_0000UL)]
    [TestCase("mul.rz.f32 %d, %a, %b;", 0xFE61_D7C6UL, 0x4120_0000UL, ExpectedResult = 0xFF7F_FFFFUL)]
    [TestCase("div.rn.f32 %d, %a, %b;", 0x3F80_0000UL, 0x4040_0000UL, ExpectedResult = 0x3EAA_AAABUL)]
    [TestCase("div.rz.f32 %d, %a, %b;", 0x3F80_0000UL, 0x4040_0000UL, ExpectedResult = 0x3EAA_AAAAUL)]
    [TestCase("div.rm.f32 %d, %a, %b;", 0x3F80_0000UL, 0x4040_0000UL, ExpectedResult = 0x3EAA_AAAAUL)]
    [TestCase("div.rp.f32 %d, %a, %b;", 0x3F80_0000UL, 0x4040_0000UL, ExpectedResult = 0x3EAA_AAABUL)]
    [TestCase("div.rz.f32 %d, %a, %b;", 0xBF80_0000UL, 0x4040_0000UL, ExpectedResult = 0xBEAA_AAAAUL)]
    [TestCase("div.rm.f32 %d, %a, %b;", 0xBF80_0000UL, 0x4040_0000UL, ExpectedResult = 0xBEAA_AAABUL)]
    [TestCase("rcp.rz.f32 %d, %a;", 0x4040_0000UL, 0UL, ExpectedResult = 0x3EAA_AAAAUL)]
    [TestCase("sqrt.rn.f32 %d, %a;", 0x4000_0000UL, 0UL, ExpectedResult = 0x3FB5_04F3UL)]
    [TestCase("sqrt.rz.f32 %d, %a;", 0x4000_0000UL, 0UL, ExpectedResult = 0x3FB5_04F3UL)]
    [TestCase("sqrt.rp.f32 %d, %a;", 0x4000_0000UL, 0UL, ExpectedResult = 0x3FB5_04F4UL)]
    [TestCase("fma.rz.f32 %d, %a, %b, %a;", 0x3F80_0000UL, 0x3080_0000UL, ExpectedResult = 0x3F80_0000UL)]
    [TestCase("fma.rp.f32 %d, %b, %a, %a;", 0x3F80_0000UL, 0x3080_0000UL, ExpectedResult = 0x3F80_0001UL)]
    public ulong DirectedRoundingF32(string code, ulong a, ulong b) => Apply1(".f32", ".f32", code, a, b);

    [TestCase("add.rz.f64 %d, %a, %b;", 0x3FF0_0000_0000_0000UL, 0x3C30_0000_0000_0000UL, ExpectedResult = 0x3FF0_0000_0000_0000UL)]
    [TestCase("add.rp.f64 %d, %a, %b;", 0x3FF0_0000_0000_0000UL, 0x3C30_0000_0000_0000UL, ExpectedResult = 0x3FF0_0000_0000_0001UL)]
    [TestCase("div.rz.f64 %d, %a, %b;", 0x3FF0_0000_0000_0000UL, 0x4008_0000_0000_0000UL, ExpectedResult = 0x3FD5_5555_5555_5555UL)]
    [TestCase("div.rp.f64 %d, %a, %b;", 0x3FF0_0000_0000_0000UL, 0x4008_0000_0000_0000UL, ExpectedResult = 0x3FD5_5555_5555_5556UL)]
    [TestCase("sqrt.rp.f64 %d, %a;", 0x4000_0000_0000_0000UL, 0UL, ExpectedResult = 0x3FF6_A09E_667F_3BCDUL)]
    [TestCase("sqrt.rz.f64 %d, %a;", 0x4000_0000_0000_0000UL, 0UL, ExpectedResult = 0x3FF6_A09E_667F_3BCCUL)]
    [TestCase("mul.rm.f64 %d, %a, %b;", 0x3FF0_0000_0000_0001UL, 0xBFF0_0000_0000_0001UL, ExpectedResult = 0xBFF0_0000_0000_0003UL)]
    public ulong DirectedRoundingF64(string code, ulong a, ulong b) => Apply1(".f64", ".f64", code, a, b);

    [Test]
    public void FlushToZeroAndSaturation()
    {
        ulong tiny = F(1e-40f), negTiny = F(-1e-40f);
        Assert.That(Apply1(".f32", ".f32", "add.f32 %d, %a, %b;", tiny, 0), Is.EqualTo(tiny), "subnormals are kept without .ftz");
        Assert.That(Apply1(".f32", ".f32", "add.ftz.f32 %d, %a, %b;", tiny, 0), Is.EqualTo(0UL));
        Assert.That(Apply1(".f32", ".f32", "add.ftz.f32 %d, %a, %b;", negTiny, 0), Is.EqualTo(0x8000_0000UL).Or.EqualTo(0UL));
        Assert.That(Apply1(".f32", ".f32", "mul.ftz.f32 %d, %a, %b;", F(1e-20f), F(1e-20f)), Is.EqualTo(0UL), "subnormal result flushed");
        Assert.That(Apply1(".f32", ".f32", "mul.rn.f32 %d, %a, %b;", F(1e-20f), F(1e-20f)), Is.EqualTo(F(1e-20f * 1e-20f)));
        Assert.That(Apply1(".f32", ".f32", "abs.ftz.f32 %d, %a;", negTiny), Is.EqualTo(0UL));
        Assert.That(ToF(Apply1(".f32", ".f32", "add.sat.f32 %d, %a, %b;", F(0.75f), F(0.5f))), Is.EqualTo(1f));
        Assert.That(ToF(Apply1(".f32", ".f32", "add.sat.f32 %d, %a, %b;", F(-1f), F(0.5f))), Is.EqualTo(0f));
        Assert.That(Apply1(".f32", ".f32", "mul.sat.f32 %d, %a, %b;", NaN32, F(1f)), Is.EqualTo(0UL), ".sat maps NaN to 0");
        Assert.That(ToF(Apply1(".f32", ".f32", "fma.rn.sat.f32 %d, %a, %b, %c;", F(0.5f), F(0.5f), F(0.125f))), Is.EqualTo(0.375f));
    }

    [Test]
    public void NanResultsAreCanonical()
    {
        Assert.That(Apply1(".f32", ".f32", "add.f32 %d, %a, %b;", 0x7FC0_0001, F(1)), Is.EqualTo(NaN32));
        Assert.That(Apply1(".f32", ".f32", "div.rn.f32 %d, %a, %b;", 0, 0), Is.EqualTo(NaN32));
        Assert.That(Apply1(".f32", ".f32", "sub.f32 %d, %a, %b;", F(float.PositiveInfinity), F(float.PositiveInfinity)), Is.EqualTo(NaN32));
        Assert.That(Apply1(".f32", ".f32", "sqrt.approx.f32 %d, %a;", F(-1)), Is.EqualTo(NaN32));
        Assert.That(ToF(Apply1(".f32", ".f32", "div.rn.f32 %d, %a, %b;", F(1), 0)), Is.EqualTo(float.PositiveInfinity));
        Assert.That(ToF(Apply1(".f32", ".f32", "div.approx.f32 %d, %a, %b;", F(-1), 0)), Is.EqualTo(float.NegativeInfinity));
    }

    // PTX min/max ignore a NaN operand (NaN only when both are NaN); -0 is less than +0. .NaN propagates NaN.
    [TestCase("min.f32 %d, %a, %b;", NaN32, 0x3F80_0000UL, ExpectedResult = 0x3F80_0000UL)]
    [TestCase("min.f32 %d, %a, %b;", 0x3F80_0000UL, 0x7FC0_0000UL, ExpectedResult = 0x3F80_0000UL)]
    [TestCase("min.f32 %d, %a, %b;", NaN32, 0xFFC0_0000UL, ExpectedResult = NaN32)]
    [TestCase("max.f32 %d, %a, %b;", 0x7FC0_0000UL, 0xBF80_0000UL, ExpectedResult = 0xBF80_0000UL)]
    [TestCase("max.f32 %d, %a, %b;", 0xBF80_0000UL, NaN32, ExpectedResult = 0xBF80_0000UL)]
    [TestCase("min.f32 %d, %a, %b;", 0x8000_0000UL, 0UL, ExpectedResult = 0x8000_0000UL)]
    [TestCase("min.f32 %d, %a, %b;", 0UL, 0x8000_0000UL, ExpectedResult = 0x8000_0000UL)]
    [TestCase("max.f32 %d, %a, %b;", 0x8000_0000UL, 0UL, ExpectedResult = 0UL)]
    [TestCase("max.f32 %d, %a, %b;", 0x4000_0000UL, 0x3F80_0000UL, ExpectedResult = 0x4000_0000UL)]
    [TestCase("min.NaN.f32 %d, %a, %b;", 0x7FC0_0000UL, 0x3F80_0000UL, ExpectedResult = NaN32)]
    [TestCase("max.NaN.f32 %d, %a, %b;", 0x3F80_0000UL, 0x4000_0000UL, ExpectedResult = 0x4000_0000UL)]
    [TestCase("min.ftz.f32 %d, %a, %b;", 0x0000_0001UL, 0x3F80_0000UL, ExpectedResult = 0UL)]
    [TestCase("abs.f32 %d, %a;", 0xC000_0000UL, 0UL, ExpectedResult = 0x4000_0000UL)]
    [TestCase("neg.f32 %d, %a;", 0UL, 0UL, ExpectedResult = 0x8000_0000UL)]
    [TestCase("neg.f32 %d, %a;", 0x7FFF_FFFFUL, 0UL, ExpectedResult = 0xFFFF_FFFFUL)]
    public ulong MinMaxAbsNeg(string code, ulong a, ulong b) => Apply1(".f32", ".f32", code, a, b);

    // Every floating-point comparison, with and without NaN operands.
    [TestCase("eq", 1f, 1f, ExpectedResult = true)]
    [TestCase("eq", float.NaN, float.NaN, ExpectedResult = false)]
    [TestCase("eq", -0f, 0f, ExpectedResult = true)]
    [TestCase("ne", 1f, 2f, ExpectedResult = true)]
    [TestCase("ne", float.NaN, 1f, ExpectedResult = false)]
    [TestCase("lt", 1f, 2f, ExpectedResult = true)]
    [TestCase("lt", float.NaN, 2f, ExpectedResult = false)]
    [TestCase("lt", float.NegativeInfinity, float.PositiveInfinity, ExpectedResult = true)]
    [TestCase("le", 2f, 2f, ExpectedResult = true)]
    [TestCase("le", 2f, float.NaN, ExpectedResult = false)]
    [TestCase("gt", 2f, 1f, ExpectedResult = true)]
    [TestCase("gt", float.NaN, 1f, ExpectedResult = false)]
    [TestCase("ge", 1f, 2f, ExpectedResult = false)]
    [TestCase("ge", float.NaN, float.NaN, ExpectedResult = false)]
    [TestCase("equ", float.NaN, 1f, ExpectedResult = true)]
    [TestCase("equ", 1f, 2f, ExpectedResult = false)]
    [TestCase("neu", float.NaN, 1f, ExpectedResult = true)]
    [TestCase("neu", 1f, 1f, ExpectedResult = false)]
    [TestCase("ltu", float.NaN, 1f, ExpectedResult = true)]
    [TestCase("ltu", 2f, 1f, ExpectedResult = false)]
    [TestCase("leu", 1f, float.NaN, ExpectedResult = true)]
    [TestCase("leu", 2f, 1f, ExpectedResult = false)]
    [TestCase("gtu", float.NaN, 1f, ExpectedResult = true)]
    [TestCase("gtu", 1f, 2f, ExpectedResult = false)]
    [TestCase("geu", float.NaN, float.NaN, ExpectedResult = true)]
    [TestCase("geu", 1f, 2f, ExpectedResult = false)]
    [TestCase("num", 1f, 2f, ExpectedResult = true)]
    [TestCase("num", float.NaN, 2f, ExpectedResult = false)]
    [TestCase("nan", 1f, float.NaN, ExpectedResult = true)]
    [TestCase("nan", 1f, 2f, ExpectedResult = false)]
    public bool FloatComparisons(string cmp, float a, float b)
    {
        bool f32 = Apply1(".f32", ".pred", $"setp.{cmp}.f32 %p, %a, %b;", F(a), F(b)) != 0;
        bool f64 = Apply1(".f64", ".pred", $"setp.{cmp}.f64 %p, %a, %b;", D(a), D(b)) != 0;
        Assert.That(f64, Is.EqualTo(f32), "f64 agrees with f32");
        return f32;
    }

    [Test]
    public void FloatComparisonCombinesWithASecondPredicate()
    {
        // %p = (a < b) AND NOT(c != 0); %q = (a >= b, i.e. !(a < b)) AND NOT(c != 0)
        var r = Apply(".f32", ".pred", "setp.ne.b32 %pp1, %c, 0;\nsetp.lt.and.f32 %p|%q, %a, %b, !%pp1;",
            [F(1), F(2), 0], [F(1), F(2), F(1)], [F(3), F(2), 0], [F(float.NaN), F(2), 0]);
        Assert.That(r.Select(x => (x.D != 0, x.Q)), Is.EqualTo(new[] { (true, false), (false, false), (false, true), (false, true) }));
        var o = Apply(".f32", ".pred", "setp.ne.b32 %pp1, %c, 0;\nsetp.gtu.or.f32 %p, %a, %b, %pp1;", [F(1), F(2), F(1)], [F(1), F(2), 0]);
        Assert.That(o.Select(x => x.D), Is.EqualTo(new ulong[] { 1, 0 }));
    }

    [TestCase("cvt.rni.s32.f32 %d, %a;", 2.5f, ExpectedResult = 2UL)]
    [TestCase("cvt.rni.s32.f32 %d, %a;", 3.5f, ExpectedResult = 4UL)]
    [TestCase("cvt.rni.s32.f32 %d, %a;", -2.5f, ExpectedResult = 0xFFFF_FFFEUL)]
    [TestCase("cvt.rzi.s32.f32 %d, %a;", -2.7f, ExpectedResult = 0xFFFF_FFFEUL)]
    [TestCase("cvt.rmi.s32.f32 %d, %a;", -2.2f, ExpectedResult = 0xFFFF_FFFDUL)]
    [TestCase("cvt.rpi.s32.f32 %d, %a;", 2.2f, ExpectedResult = 3UL)]
    [TestCase("cvt.rzi.s32.f32 %d, %a;", float.NaN, ExpectedResult = 0UL)]
    [TestCase("cvt.rzi.s32.f32 %d, %a;", 3e9f, ExpectedResult = 0x7FFF_FFFFUL)]
    [TestCase("cvt.rzi.s32.f32 %d, %a;", -3e9f, ExpectedResult = 0x8000_0000UL)]
    [TestCase("cvt.rzi.s32.f32 %d, %a;", float.NegativeInfinity, ExpectedResult = 0x8000_0000UL)]
    [TestCase("cvt.rzi.u32.f32 %d, %a;", -1.5f, ExpectedResult = 0UL)]
    [TestCase("cvt.rzi.u32.f32 %d, %a;", 5e9f, ExpectedResult = 0xFFFF_FFFFUL)]
    [TestCase("cvt.rni.u8.f32 %d, %a;", 300.7f, ExpectedResult = 255UL)]
    [TestCase("cvt.rni.s16.f32 %d, %a;", -1e6f, ExpectedResult = 0xFFFF_8000UL)]
    public ulong FloatToInteger(string code, float a) => Apply1(".f32", ".b32", code, F(a));

    [Test]
    public void IntegerToFloatRounding()
    {
        Assert.That(Apply1(".b32", ".f32", "cvt.rn.f32.s32 %d, %a;", 16_777_217), Is.EqualTo(F(16_777_216f)));
        Assert.That(Apply1(".b32", ".f32", "cvt.rz.f32.s32 %d, %a;", 16_777_217), Is.EqualTo(F(16_777_216f)));
        Assert.That(Apply1(".b32", ".f32", "cvt.rp.f32.s32 %d, %a;", 16_777_217), Is.EqualTo(F(16_777_218f)));
        Assert.That(Apply1(".b32", ".f32", "cvt.rm.f32.s32 %d, %a;", unchecked((uint)-16_777_217)), Is.EqualTo(F(-16_777_218f)));
        Assert.That(Apply1(".b32", ".f32", "cvt.rn.f32.u32 %d, %a;", 0xFFFF_FFFF), Is.EqualTo(F(4294967296f)));
        Assert.That(Apply1(".b32", ".f32", "cvt.rn.f32.s32 %d, %a;", 0xFFFF_FFFF), Is.EqualTo(F(-1f)));
        Assert.That(Apply1(".b64", ".f32", "cvt.rn.f32.u64 %d, %a;", ulong.MaxValue), Is.EqualTo(0x5F80_0000UL));
        Assert.That(Apply1(".b64", ".f32", "cvt.rz.f32.u64 %d, %a;", ulong.MaxValue), Is.EqualTo(0x5F7F_FFFFUL));
        Assert.That(ToD(Apply1(".b64", ".f64", "cvt.rn.f64.s64 %d, %a;", (1UL << 53) + 1)), Is.EqualTo(9007199254740992.0));
        Assert.That(ToD(Apply1(".b64", ".f64", "cvt.rp.f64.s64 %d, %a;", (1UL << 53) + 1)), Is.EqualTo(9007199254740994.0));
        Assert.That(ToF(Apply1(".b32", ".f32", "cvt.rn.sat.f32.s32 %d, %a;", 5)), Is.EqualTo(1f));
    }

    [Test]
    public void FloatToFloatConversions()
    {
        Assert.That(Apply1(".f64", ".f32", "cvt.rn.f32.f64 %d, %a;", D(0.1)), Is.EqualTo(0x3DCC_CCCDUL));
        Assert.That(Apply1(".f64", ".f32", "cvt.rz.f32.f64 %d, %a;", D(0.1)), Is.EqualTo(0x3DCC_CCCCUL));
        Assert.That(Apply1(".f64", ".f32", "cvt.rp.f32.f64 %d, %a;", D(0.1)), Is.EqualTo(0x3DCC_CCCDUL));
        Assert.That(Apply1(".f64", ".f32", "cvt.rn.f32.f64 %d, %a;", D(1e300)), Is.EqualTo(0x7F80_0000UL));
        Assert.That(Apply1(".f64", ".f32", "cvt.rz.f32.f64 %d, %a;", D(1e300)), Is.EqualTo(0x7F7F_FFFFUL));
        Assert.That(ToD(Apply1(".f32", ".f64", "cvt.f64.f32 %d, %a;", F(0.1f))), Is.EqualTo((double)0.1f));
        Assert.That(ToF(Apply1(".f32", ".f32", "cvt.rni.f32.f32 %d, %a;", F(2.5f))), Is.EqualTo(2f));
        Assert.That(ToF(Apply1(".f32", ".f32", "cvt.rmi.f32.f32 %d, %a;", F(-0.5f))), Is.EqualTo(-1f));
        Assert.That(Apply1(".f32", ".f32", "cvt.rpi.f32.f32 %d, %a;", F(-0.5f)), Is.EqualTo(0x8000_0000UL), "ceil(-0.5) is -0");
        Assert.That(ToF(Apply1(".f32", ".f32", "cvt.sat.f32.f32 %d, %a;", F(1.5f))), Is.EqualTo(1f));
        Assert.That(ToF(Apply1(".f32", ".f32", "cvt.sat.f32.f32 %d, %a;", F(-3f))), Is.EqualTo(0f));
        Assert.That(Apply1(".f32", ".f32", "cvt.ftz.f32.f32 %d, %a;", F(1e-40f)), Is.EqualTo(0UL));
    }

    [Test]
    public void FloatImmediates()
    {
        Assert.That(ToF(Apply1(".f32", ".f32", "mov.f32 %d, 0f3FC00000;")), Is.EqualTo(1.5f));
        Assert.That(ToF(Apply1(".f32", ".f32", "mov.f32 %d, 2.25;")), Is.EqualTo(2.25f));
        Assert.That(ToF(Apply1(".f32", ".f32", "add.f32 %d, %a, 0fBF800000;", F(3))), Is.EqualTo(2f));
        Assert.That(ToD(Apply1(".f64", ".f64", "mov.f64 %d, 0d3FF8000000000000;")), Is.EqualTo(1.5));
        Assert.That(ToD(Apply1(".f64", ".f64", "mul.f64 %d, %a, 1.0E3;", D(0.5))), Is.EqualTo(500.0));
    }

    /// <summary>
    /// The .approx instructions are computed more exactly than the hardware (correctly rounded double-precision
    /// results rounded to single): they equal the rounded exact value and meet the PTX ISA bounds.
    /// </summary>
    [Test]
    public void ApproximateFunctionsMeetTheHardwareErrorBounds()
    {
        var rnd = TestContext.CurrentContext.Random;
        var rows = Enumerable.Range(0, 200).Select(_ => new[] { F((float)((rnd.NextDouble() * 2 - 1) * Math.PI)), F((float)(rnd.NextDouble() * 1.5 + 0.5)), F((float)((rnd.NextDouble() - 0.5) * 40)) }).ToArray();
        var sin = Apply(".f32", ".f32", "sin.approx.f32 %d, %a;", rows);
        var cos = Apply(".f32", ".f32", "cos.approx.ftz.f32 %d, %a;", rows);
        var lg2 = Apply(".f32", ".f32", "lg2.approx.f32 %d, %b;", rows);
        var ex2 = Apply(".f32", ".f32", "ex2.approx.f32 %d, %c;", rows);
        var rsq = Apply(".f32", ".f32", "rsqrt.approx.f32 %d, %b;", rows);
        var rcp = Apply(".f32", ".f32", "rcp.approx.f32 %d, %c;", rows);
        var sqr = Apply(".f32", ".f32", "sqrt.approx.f32 %d, %b;", rows);
        var div = Apply(".f32", ".f32", "div.full.f32 %d, %a, %b;", rows);
        for (int i = 0; i < rows.Length; i++)
        {
            double x = ToF(rows[i][0]), m = ToF(rows[i][1]), e = ToF(rows[i][2]);
            Assert.That(Math.Abs(ToF(sin[i].D) - Math.Sin(x)), Is.LessThanOrEqualTo(Math.Pow(2, -20.5)), "sin.approx: absolute 2^-20.5 in [-pi, pi]");
            Assert.That(Math.Abs(ToF(cos[i].D) - Math.Cos(x)), Is.LessThanOrEqualTo(Math.Pow(2, -20.5)), "cos.approx");
            Assert.That(Math.Abs(ToF(lg2[i].D) - Math.Log2(m)), Is.LessThanOrEqualTo(Math.Pow(2, -22.6)), "lg2.approx: absolute 2^-22.6");
            Assert.That(Math.Abs(ToF(ex2[i].D) / Math.Pow(2, e) - 1), Is.LessThanOrEqualTo(Math.Pow(2, -22.5)), "ex2.approx: relative 2^-22.5");
            Assert.That(Math.Abs(ToF(rsq[i].D) * Math.Sqrt(m) - 1), Is.LessThanOrEqualTo(Math.Pow(2, -22.9)), "rsqrt.approx: relative 2^-22.9");
            Assert.That(Math.Abs(ToF(sqr[i].D) / Math.Sqrt(m) - 1), Is.LessThanOrEqualTo(Math.Pow(2, -23)), "sqrt.approx: relative 2^-23");
            Assert.That(ToF(rcp[i].D), Is.EqualTo((float)(1 / e)).Within(1).Ulps, "rcp.approx: 1 ulp");
            Assert.That(ToF(div[i].D), Is.EqualTo((float)(x / m)).Within(2).Ulps, "div.full: 2 ulp");
            Assert.That(sin[i].D, Is.EqualTo(F((float)Math.Sin(x))), "the emulator returns the correctly rounded value");
            Assert.That(ex2[i].D, Is.EqualTo(F((float)Math.Pow(2, e))));
        }
    }
}
