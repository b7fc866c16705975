namespace Engine.Kernels.Cpu;

/// <summary>Special functions .NET does not provide, accurate to double precision.</summary>
public static class SpecialFunctions
{
    private const double TwoOverSqrtPi = 1.1283791670955126;
    private const double InvSqrtPi = 0.56418958354775628;

    /// <summary>
    /// The error function. |x| &lt; 3: the series 2/√π·e^(−x²)·Σ 2ⁿx^(2n+1)/(2n+1)!!, whose terms are all positive
    /// (no cancellation); otherwise 1 − erfc(x) with erfc from its continued fraction. Relative error ~1e-15.
    /// </summary>
    public static double Erf(double x)
    {
        if (double.IsNaN(x)) return x;
        double ax = Math.Abs(x);
        if (ax >= 6.0) return Math.Sign(x);
        double r;
        if (ax < 3.0)
        {
            double x2 = ax * ax, term = ax, sum = ax;
            for (int n = 1; n < 200; n++)
            {
                term *= 2.0 * x2 / (2 * n + 1);
                sum += term;
                if (term < sum * 1e-17) break;
            }
            r = TwoOverSqrtPi * Math.Exp(-x2) * sum;
        }
        else r = 1.0 - Erfc(ax);
        return x < 0 ? -r : r;
    }

    /// <summary>Complementary error function for x ≥ 3 by the Lentz continued fraction.</summary>
    private static double Erfc(double x)
    {
        // erfc(x) = e^{-x²}/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + ...)))))
        const double tiny = 1e-300;
        double f = x, c = x, d = 0;
        for (int k = 1; k < 300; k++)
        {
            double a = k * 0.5;
            d = x + a * d; if (Math.Abs(d) < tiny) d = tiny;
            c = x + a / c; if (Math.Abs(c) < tiny) c = tiny;
            d = 1.0 / d;
            double delta = c * d;
            f *= delta;
            if (Math.Abs(delta - 1.0) < 1e-16) break;
        }
        return Math.Exp(-x * x) * InvSqrtPi / f;
    }

    /// <summary>Standard normal CDF Φ(x).</summary>
    public static double NormalCdf(double x) => 0.5 * (1.0 + Erf(x * 0.70710678118654752));

    /// <summary>Standard normal density φ(x).</summary>
    public static double NormalPdf(double x) => 0.3989422804014327 * Math.Exp(-0.5 * x * x);
}
