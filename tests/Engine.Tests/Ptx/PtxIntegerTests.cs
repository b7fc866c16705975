using static Engine.Tests.Ptx.PtxHarness;

namespace Engine.Tests.Ptx;

/// <summary>Integer, bitwise and shift instructions against hand-worked results, including wrap-around,
/// shifts by the register width or more, and division by zero as the emulator documents it.</summary>
public class PtxIntegerTests
{
    [TestCase(".u32", ".u32", "add.u32 %d, %a, %b;", 0xFFFF_FFFFUL, 1UL, 0UL, ExpectedResult = 0UL)]
    [TestCase(".s32", ".s32", "add.s32 %d, %a, %b;", 0x7FFF_FFFFUL, 1UL, 0UL, ExpectedResult = 0x8000_0000UL)]
    [TestCase(".s32", ".s32", "sub.s32 %d, %a, %b;", 0x8000_0000UL, 1UL, 0UL, ExpectedResult = 0x7FFF_FFFFUL)]
    [TestCase(".u64", ".u64", "add.u64 %d, %a, %b;", ulong.MaxValue, 2UL, 0UL, ExpectedResult = 1UL)]
    [TestCase(".s64", ".s64", "sub.s64 %d, %a, %b;", 0UL, 1UL, 0UL, ExpectedResult = ulong.MaxValue)]
    [TestCase(".s32", ".s32", "add.sat.s32 %d, %a, %b;", 0x7FFF_FFFFUL, 1UL, 0UL, ExpectedResult = 0x7FFF_FFFFUL)]
    [TestCase(".s32", ".s32", "add.sat.s32 %d, %a, %b;", 0x8000_0000UL, 0xFFFF_FFFFUL, 0UL, ExpectedResult = 0x8000_0000UL)]
    [TestCase(".s32", ".s32", "sub.sat.s32 %d, %a, %b;", 0x8000_0000UL, 1UL, 0UL, ExpectedResult = 0x8000_0000UL)]
    [TestCase(".u32", ".u32", "mul.lo.u32 %d, %a, %b;", 0x1_0000UL, 0x1_0000UL, 0UL, ExpectedResult = 0UL)]
    [TestCase(".u32", ".u32", "mul.lo.u32 %d, %a, %b;", 0xFFFF_FFFFUL, 0xFFFF_FFFFUL, 0UL, ExpectedResult = 1UL)]
    [TestCase(".u32", ".u32", "mul.hi.u32 %d, %a, %b;", 0xFFFF_FFFFUL, 0xFFFF_FFFFUL, 0UL, ExpectedResult = 0xFFFF_FFFEUL)]
    [TestCase(".s32", ".s32", "mul.hi.s32 %d, %a, %b;", 0xFFFF_FFFFUL, 0xFFFF_FFFFUL, 0UL, ExpectedResult = 0UL)]
    [TestCase(".s32", ".s32", "mul.hi.s32 %d, %a, %b;", 0x8000_0000UL, 2UL, 0UL, ExpectedResult = 0xFFFF_FFFFUL)]
    [TestCase(".s32", ".s64", "mul.wide.s32 %d, %a, %b;", 0xFFFF_FFFEUL, 3UL, 0UL, ExpectedResult = 0xFFFF_FFFF_FFFF_FFFAUL)]
    [TestCase(".u32", ".u64", "mul.wide.u32 %d, %a, %b;", 0xFFFF_FFFFUL, 0xFFFF_FFFFUL, 0UL, ExpectedResult = 0xFFFF_FFFE_0000_0001UL)]
    [TestCase(".s32", ".s64", "mov.b64 %d, 100;\nmad.wide.s32 %d, %a, %b, %d;", 0xFFFF_FFFFUL, 7UL, 0UL, ExpectedResult = 93UL)]
    [TestCase(".u64", ".u64", "mul.lo.u64 %d, %a, %b;", 0x1_0000_0000UL, 0x1_0000_0000UL, 0UL, ExpectedResult = 0UL)]
    [TestCase(".u64", ".u64", "mul.hi.u64 %d, %a, %b;", ulong.MaxValue, 2UL, 0UL, ExpectedResult = 1UL)]
    [TestCase(".s64", ".s64", "mul.hi.s64 %d, %a, %b;", ulong.MaxValue, 2UL, 0UL, ExpectedResult = ulong.MaxValue)]
    [TestCase(".s32", ".s32", "mad.lo.s32 %d, %a, %b, %c;", 3UL, 4UL, 5UL, ExpectedResult = 17UL)]
    [TestCase(".u32", ".u32", "mad.lo.u32 %d, %a, %b, %c;", 0xFFFF_FFFFUL, 2UL, 3UL, ExpectedResult = 1UL)]
    [TestCase(".u32", ".u32", "mad.hi.u32 %d, %a, %b, %c;", 0xFFFF_FFFFUL, 0xFFFF_FFFFUL, 2UL, ExpectedResult = 0UL)]
    [TestCase(".u64", ".u64", "mad.lo.u64 %d, %a, %b, %c;", ulong.MaxValue, 3UL, 5UL, ExpectedResult = 2UL)]
    [TestCase(".s32", ".s32", "min.s32 %d, %a, %b;", 0xFFFF_FFFFUL, 1UL, 0UL, ExpectedResult = 0xFFFF_FFFFUL)]
    [TestCase(".u32", ".u32", "min.u32 %d, %a, %b;", 0xFFFF_FFFFUL, 1UL, 0UL, ExpectedResult = 1UL)]
    [TestCase(".s32", ".s32", "max.s32 %d, %a, %b;", 0xFFFF_FFFFUL, 1UL, 0UL, ExpectedResult = 1UL)]
    [TestCase(".u64", ".u64", "max.u64 %d, %a, %b;", ulong.MaxValue, 1UL, 0UL, ExpectedResult = ulong.MaxValue)]
    [TestCase(".s64", ".s64", "min.s64 %d, %a, %b;", ulong.MaxValue, 1UL, 0UL, ExpectedResult = ulong.MaxValue)]
    [TestCase(".s32", ".s32", "abs.s32 %d, %a;", 0xFFFF_FFFBUL, 0UL, 0UL, ExpectedResult = 5UL)]
    [TestCase(".s32", ".s32", "abs.s32 %d, %a;", 0x8000_0000UL, 0UL, 0UL, ExpectedResult = 0x8000_0000UL)]
    [TestCase(".s32", ".s32", "neg.s32 %d, %a;", 0x8000_0000UL, 0UL, 0UL, ExpectedResult = 0x8000_0000UL)]
    [TestCase(".s64", ".s64", "neg.s64 %d, %a;", 1UL, 0UL, 0UL, ExpectedResult = ulong.MaxValue)]
    [TestCase(".s64", ".s64", "abs.s64 %d, %a;", 0x8000_0000_0000_0000UL, 0UL, 0UL, ExpectedResult = 0x8000_0000_0000_0000UL)]
    [TestCase(".u16", ".u16", "add.u16 %d, %a, %b;", 0xFFFFUL, 1UL, 0UL, ExpectedResult = 0UL)]
    [TestCase(".u16", ".u32", "mul.wide.u16 %d, %a, %b;", 0xFFFFUL, 0xFFFFUL, 0UL, ExpectedResult = 0xFFFE_0001UL)]
    [TestCase(".s16", ".s16", "mul.hi.s16 %d, %a, %b;", 0x8000UL, 2UL, 0UL, ExpectedResult = 0xFFFFUL)]
    [TestCase(".s16", ".s16", "mul.lo.s16 %d, %a, %b;", 0x4000UL, 4UL, 0UL, ExpectedResult = 0UL)]
    [TestCase(".s16", ".s16", "div.s16 %d, %a, %b;", 0xFFF9UL, 2UL, 0UL, ExpectedResult = 0xFFFDUL)]
    [TestCase(".s16", ".s16", "max.s16 %d, %a, %b;", 0x8000UL, 0x7FFFUL, 0UL, ExpectedResult = 0x7FFFUL)]
    [TestCase(".s16", ".s16", "neg.s16 %d, %a;", 0x8000UL, 0UL, 0UL, ExpectedResult = 0x8000UL)]
    public ulong Arithmetic(string inType, string outType, string code, ulong a, ulong b, ulong c) =>
        Apply1(inType, outType, code, a, b, c);

    // Division by zero is unspecified in PTX; the emulator documents: quotient all ones (-1 signed),
    // remainder the dividend. INT_MIN / -1 wraps to INT_MIN with remainder 0.
    [TestCase(".u32", "div.u32 %d, %a, %b;", 7UL, 0UL, ExpectedResult = 0xFFFF_FFFFUL)]
    [TestCase(".s32", "div.s32 %d, %a, %b;", 7UL, 0UL, ExpectedResult = 0xFFFF_FFFFUL)]
    [TestCase(".u32", "rem.u32 %d, %a, %b;", 7UL, 0UL, ExpectedResult = 7UL)]
    [TestCase(".s32", "rem.s32 %d, %a, %b;", 0xFFFF_FFF9UL, 0UL, ExpectedResult = 0xFFFF_FFF9UL)]
    [TestCase(".s32", "div.s32 %d, %a, %b;", 0x8000_0000UL, 0xFFFF_FFFFUL, ExpectedResult = 0x8000_0000UL)]
    [TestCase(".s32", "rem.s32 %d, %a, %b;", 0x8000_0000UL, 0xFFFF_FFFFUL, ExpectedResult = 0UL)]
    [TestCase(".s32", "div.s32 %d, %a, %b;", 0xFFFF_FFF9UL, 2UL, ExpectedResult = 0xFFFF_FFFDUL)]
    [TestCase(".s32", "rem.s32 %d, %a, %b;", 0xFFFF_FFF9UL, 2UL, ExpectedResult = 0xFFFF_FFFFUL)]
    [TestCase(".u64", "div.u64 %d, %a, %b;", 7UL, 0UL, ExpectedResult = ulong.MaxValue)]
    [TestCase(".s64", "div.s64 %d, %a, %b;", 7UL, 0UL, ExpectedResult = ulong.MaxValue)]
    [TestCase(".s64", "div.s64 %d, %a, %b;", 0x8000_0000_0000_0000UL, ulong.MaxValue, ExpectedResult = 0x8000_0000_0000_0000UL)]
    [TestCase(".u64", "rem.u64 %d, %a, %b;", 7UL, 0UL, ExpectedResult = 7UL)]
    [TestCase(".u64", "rem.u64 %d, %a, %b;", 1_000_000_000_007UL, 1000UL, ExpectedResult = 7UL)]
    [TestCase(".u16", "div.u16 %d, %a, %b;", 7UL, 0UL, ExpectedResult = 0xFFFFUL)]
    [TestCase(".u16", "rem.u16 %d, %a, %b;", 7UL, 0UL, ExpectedResult = 7UL)]
    public ulong DivisionAndRemainder(string type, string code, ulong a, ulong b) => Apply1(type, type, code, a, b);

    // Shift amounts are unsigned; amounts of the register width or more give 0 (shl, shr.u/.b) or the sign (shr.s).
    [TestCase(".b32", "shl.b32 %d, %a, %b;", 1UL, 31UL, ExpectedResult = 0x8000_0000UL)]
    [TestCase(".b32", "shl.b32 %d, %a, %b;", 1UL, 32UL, ExpectedResult = 0UL)]
    [TestCase(".b32", "shl.b32 %d, %a, %b;", 1UL, 33UL, ExpectedResult = 0UL)]
    [TestCase(".b32", "shl.b32 %d, %a, %b;", 1UL, 0xFFFF_FFFFUL, ExpectedResult = 0UL)]
    [TestCase(".u32", "shr.u32 %d, %a, %b;", 0x8000_0000UL, 31UL, ExpectedResult = 1UL)]
    [TestCase(".u32", "shr.u32 %d, %a, %b;", 0x8000_0000UL, 32UL, ExpectedResult = 0UL)]
    [TestCase(".b32", "shr.b32 %d, %a, %b;", 0x8000_0000UL, 4UL, ExpectedResult = 0x0800_0000UL)]
    [TestCase(".s32", "shr.s32 %d, %a, %b;", 0x8000_0000UL, 31UL, ExpectedResult = 0xFFFF_FFFFUL)]
    [TestCase(".s32", "shr.s32 %d, %a, %b;", 0x8000_0000UL, 32UL, ExpectedResult = 0xFFFF_FFFFUL)]
    [TestCase(".s32", "shr.s32 %d, %a, %b;", 0x8000_0000UL, 100UL, ExpectedResult = 0xFFFF_FFFFUL)]
    [TestCase(".s32", "shr.s32 %d, %a, %b;", 0x4000_0000UL, 40UL, ExpectedResult = 0UL)]
    [TestCase(".s32", "shr.s32 %d, %a, 33;", 0xFFFF_FF00UL, 0UL, ExpectedResult = 0xFFFF_FFFFUL)]
    [TestCase(".b64", "cvt.u32.u64 %r0, %b;\nshl.b64 %d, %a, %r0;", 1UL, 63UL, ExpectedResult = 0x8000_0000_0000_0000UL)]
    [TestCase(".b64", "cvt.u32.u64 %r0, %b;\nshl.b64 %d, %a, %r0;", 1UL, 64UL, ExpectedResult = 0UL)]
    [TestCase(".u64", "cvt.u32.u64 %r0, %b;\nshr.u64 %d, %a, %r0;", ulong.MaxValue, 64UL, ExpectedResult = 0UL)]
    [TestCase(".s64", "cvt.u32.u64 %r0, %b;\nshr.s64 %d, %a, %r0;", 0x8000_0000_0000_0000UL, 64UL, ExpectedResult = ulong.MaxValue)]
    [TestCase(".s64", "cvt.u32.u64 %r0, %b;\nshr.s64 %d, %a, %r0;", 0x8000_0000_0000_0000UL, 1000UL, ExpectedResult = ulong.MaxValue)]
    [TestCase(".b16", "cvt.u32.u16 %r0, %b;\nshl.b16 %d, %a, %r0;", 1UL, 16UL, ExpectedResult = 0UL)]
    [TestCase(".s16", "cvt.u32.u16 %r0, %b;\nshr.s16 %d, %a, %r0;", 0x8000UL, 20UL, ExpectedResult = 0xFFFFUL)]
    [TestCase(".u16", "cvt.u32.u16 %r0, %b;\nshr.u16 %d, %a, %r0;", 0x8000UL, 15UL, ExpectedResult = 1UL)]
    public ulong Shifts(string type, string code, ulong a, ulong b) => Apply1(type, type, code, a, b);

    [TestCase("and.b32 %d, %a, %b;", 0xF0F0_F0F0UL, 0xFF00_FF00UL, ExpectedResult = 0xF000_F000UL)]
    [TestCase("or.b32 %d, %a, %b;", 0xF0F0_F0F0UL, 0x0F00_0F00UL, ExpectedResult = 0xFFF0_FFF0UL)]
    [TestCase("xor.b32 %d, %a, %b;", 0xFFFF_0000UL, 0xFF00_FF00UL, ExpectedResult = 0x00FF_FF00UL)]
    [TestCase("not.b32 %d, %a;", 0x0000_FFFFUL, 0UL, ExpectedResult = 0xFFFF_0000UL)]
    public ulong Bitwise32(string code, ulong a, ulong b) => Apply1(".b32", ".b32", code, a, b);

    [Test]
    public void Bitwise64And16()
    {
        Assert.That(Apply1(".b64", ".b64", "not.b64 %d, %a;", 1), Is.EqualTo(0xFFFF_FFFF_FFFF_FFFEUL));
        Assert.That(Apply1(".b64", ".b64", "xor.b64 %d, %a, %b;", 0xFFFF_FFFF_0000_0000, 0xFFFF_0000_FFFF_0000), Is.EqualTo(0x0000_FFFF_FFFF_0000UL));
        Assert.That(Apply1(".b16", ".b16", "not.b16 %d, %a;", 0x00FF), Is.EqualTo(0xFF00UL));
    }

    [TestCase("and.pred %p, %pa, %pb;", 1UL, 0UL, ExpectedResult = false)]
    [TestCase("and.pred %p, %pa, %pb;", 1UL, 1UL, ExpectedResult = true)]
    [TestCase("or.pred %p, %pa, %pb;", 0UL, 1UL, ExpectedResult = true)]
    [TestCase("xor.pred %p, %pa, %pb;", 1UL, 1UL, ExpectedResult = false)]
    [TestCase("not.pred %p, %pa;", 0UL, 0UL, ExpectedResult = true)]
    [TestCase("mov.pred %p, %pb;", 0UL, 1UL, ExpectedResult = true)]
    public bool PredicateLogic(string code, ulong a, ulong b) => Apply1(".pred", ".pred", code, a, b) != 0;

    [Test]
    public void SelpPicksByPredicate()
    {
        var r = Apply(".b32", ".b32", "setp.ne.u32 %p, %c, 0;\nselp.b32 %d, %a, %b, %p;", [10, 20, 1], [10, 20, 0]);
        Assert.That(r.Select(x => x.D), Is.EqualTo(new ulong[] { 10, 20 }));
    }

    [Test]
    public void MovImmediatesAndVectorPacking()
    {
        Assert.That(Apply1(".u32", ".u32", "mov.u32 %d, 0xDEADBEEF;"), Is.EqualTo(0xDEAD_BEEFUL));
        Assert.That(Apply1(".u32", ".u32", "mov.u32 %d, -1;"), Is.EqualTo(0xFFFF_FFFFUL));
        Assert.That(Apply1(".s64", ".s64", "mov.s64 %d, -2;"), Is.EqualTo(0xFFFF_FFFF_FFFF_FFFEUL));
        Assert.That(Apply1(".b32", ".b64", "mov.b64 %d, {%a, %b};", 0x1111_2222, 0x3333_4444), Is.EqualTo(0x3333_4444_1111_2222UL));
        Assert.That(Apply1(".b64", ".b32", "mov.b64 {%r0, %r1}, %a;\nmov.b32 %d, %r1;", 0x3333_4444_1111_2222), Is.EqualTo(0x3333_4444UL));
        Assert.That(Apply1(".b32", ".b32", "mov.u32 %d, 017;"), Is.EqualTo(15UL), "octal literal");
        Assert.That(Apply1(".b32", ".b32", "mov.u32 %d, 0b101;"), Is.EqualTo(5UL), "binary literal");
    }

    [TestCase("setp.lt.s32 %p|%q, %a, %b;", 0xFFFF_FFFFUL, 1UL, ExpectedResult = "True,False")]
    [TestCase("setp.lt.u32 %p|%q, %a, %b;", 0xFFFF_FFFFUL, 1UL, ExpectedResult = "False,True")]
    [TestCase("setp.lo.u32 %p, %a, %b;", 1UL, 0xFFFF_FFFFUL, ExpectedResult = "True,False")]
    [TestCase("setp.ls.u32 %p, %a, %b;", 5UL, 5UL, ExpectedResult = "True,False")]
    [TestCase("setp.hi.u32 %p, %a, %b;", 0xFFFF_FFFFUL, 1UL, ExpectedResult = "True,False")]
    [TestCase("setp.hs.u32 %p, %a, %b;", 4UL, 5UL, ExpectedResult = "False,False")]
    [TestCase("setp.le.s32 %p, %a, %b;", 0x8000_0000UL, 0x7FFF_FFFFUL, ExpectedResult = "True,False")]
    [TestCase("setp.gt.s32 %p, %a, %b;", 0x8000_0000UL, 0x7FFF_FFFFUL, ExpectedResult = "False,False")]
    [TestCase("setp.ge.s32 %p, %a, %b;", 3UL, 3UL, ExpectedResult = "True,False")]
    [TestCase("setp.eq.s32 %p, %a, %b;", 3UL, 3UL, ExpectedResult = "True,False")]
    [TestCase("setp.ne.s32 %p, %a, %b;", 3UL, 3UL, ExpectedResult = "False,False")]
    [TestCase("setp.eq.b32 %p, %a, %b;", 0xFFFF_FFFFUL, 0xFFFF_FFFFUL, ExpectedResult = "True,False")]
    [TestCase("setp.lt.and.s32 %p|%q, %a, %b, %pp0;", 1UL, 2UL, ExpectedResult = "False,False")]
    [TestCase("setp.lt.and.s32 %p|%q, %a, %b, !%pp0;", 1UL, 2UL, ExpectedResult = "True,False")]
    [TestCase("setp.lt.or.s32 %p|%q, %a, %b, !%pp0;", 3UL, 2UL, ExpectedResult = "True,True")]
    [TestCase("setp.lt.xor.s32 %p|%q, %a, %b, !%pp0;", 1UL, 2UL, ExpectedResult = "False,True")]
    public string IntegerComparisons(string code, ulong a, ulong b)
    {
        // %pp0 is false.
        var r = Apply(".s32", ".pred", "setp.ne.s32 %pp0, %a, %a;\n" + code, [a, b, 0])[0];
        return $"{r.D != 0},{r.Q}";
    }

    [Test]
    public void SixtyFourAndSixteenBitComparisons()
    {
        Assert.That(Apply1(".s64", ".pred", "setp.lt.s64 %p, %a, %b;", ulong.MaxValue, 0), Is.EqualTo(1UL));
        Assert.That(Apply1(".u64", ".pred", "setp.lt.u64 %p, %a, %b;", ulong.MaxValue, 0), Is.EqualTo(0UL));
        Assert.That(Apply1(".s16", ".pred", "setp.lt.s16 %p, %a, %b;", 0xFFFF, 0), Is.EqualTo(1UL));
        Assert.That(Apply1(".u16", ".pred", "setp.gt.u16 %p, %a, %b;", 0xFFFF, 0), Is.EqualTo(1UL));
    }

    [TestCase("cvt.s32.s8 %d, %a;", 0x80UL, ExpectedResult = 0xFFFF_FF80UL)]
    [TestCase("cvt.u32.u8 %d, %a;", 0x1FFUL, ExpectedResult = 0xFFUL)]
    [TestCase("cvt.s32.s16 %d, %a;", 0x8001UL, ExpectedResult = 0xFFFF_8001UL)]
    [TestCase("cvt.u32.u16 %d, %a;", 0x1_8001UL, ExpectedResult = 0x8001UL)]
    [TestCase("cvt.s8.s32 %d, %a;", 0x1FFUL, ExpectedResult = 0xFFFF_FFFFUL)]
    [TestCase("cvt.u8.u32 %d, %a;", 0x1FFUL, ExpectedResult = 0xFFUL)]
    [TestCase("cvt.sat.u8.s32 %d, %a;", 300UL, ExpectedResult = 255UL)]
    [TestCase("cvt.sat.u8.s32 %d, %a;", 0xFFFF_FFFBUL, ExpectedResult = 0UL)]
    [TestCase("cvt.sat.s8.s32 %d, %a;", 0xFFFF_FF00UL, ExpectedResult = 0xFFFF_FF80UL)]
    [TestCase("cvt.sat.u32.s32 %d, %a;", 0xFFFF_FFFFUL, ExpectedResult = 0UL)]
    [TestCase("cvt.sat.s32.u32 %d, %a;", 0xFFFF_FFFFUL, ExpectedResult = 0x7FFF_FFFFUL)]
    public ulong IntegerConversions32(string code, ulong a) => Apply1(".b32", ".b32", code, a);

    [Test]
    public void IntegerConversions64()
    {
        Assert.That(Apply1(".b32", ".b64", "cvt.s64.s32 %d, %a;", 0xFFFF_FFFF), Is.EqualTo(ulong.MaxValue));
        Assert.That(Apply1(".b32", ".b64", "cvt.u64.u32 %d, %a;", 0xFFFF_FFFF), Is.EqualTo(0xFFFF_FFFFUL));
        Assert.That(Apply1(".b64", ".b32", "cvt.u32.u64 %d, %a;", 0x1_0000_0005), Is.EqualTo(5UL));
        Assert.That(Apply1(".b64", ".b32", "cvt.sat.s32.s64 %d, %a;", 0x1_0000_0005), Is.EqualTo(0x7FFF_FFFFUL));
        Assert.That(Apply1(".b64", ".b32", "cvt.sat.s32.s64 %d, %a;", 0x8000_0000_0000_0000), Is.EqualTo(0x8000_0000UL));
        Assert.That(Apply1(".b64", ".b64", "cvt.s64.s8 %d, %a;", 0xFF), Is.EqualTo(ulong.MaxValue));
        Assert.That(Apply1(".b32", ".b16", "cvt.u16.u32 %d, %a;", 0x1_2345), Is.EqualTo(0x2345UL));
    }
}
