namespace Engine.Kernels.Gpu;

/// <summary>
/// The C# template behind the generated index kernels of <see cref="GpuBackend"/> (gather, index_select, scatter_add,
/// index_add); the embedding-style row copy of index_select is hand-written (Kernels/index_rows.ptx). Two families,
/// one kernel per (element type, coalesced rank, index width):
/// <list type="bullet">
/// <item><c>gather_b{8,16,32,64}_r{R}_{w32,w64}</c>: dst[i] = src[base(i) + index[i]·sdim], one thread per dst element.
/// A bit copy, so one kernel per element size serves every dtype of that size.</item>
/// <item><c>scatter_add_{f32,f64,s64,s32,u8}_r{R}_{w32,w64}</c>: dst[base(i) + index[i]·sdim] += src[i], one thread per
/// src element, with <c>red.global.add</c> (f32, f64, u64 for int64, u32 for int32: two's complement wraps like the
/// CPU) or, for uint8, a 32-bit compare-and-swap loop on the aligned word holding the byte.</item>
/// </list>
/// index_select and index_add are these kernels with the 1-D index seen as a tensor of the iteration shape whose only
/// non-zero stride is along dim, so one template covers the four ops.
/// </summary>
/// <remarks>
/// <para>Addressing as in <see cref="PtxGen.Elementwise"/>: the element index i (grid-stride loop) is split into R
/// coordinates of the coalesced iteration shape (<c>n0..</c>), and each operand's element offset is the coordinates
/// times its own strides. Operand order: 0 the written one (dst), 1 the index (int64), 2 the read one (src). The
/// operand addressed through the index (src for gather, dst for scatter) has stride 0 along dim in those strides; the
/// index value times <c>sdim</c> (its stride along dim) is added. Parameters: <c>.u64 total, p0, p1, p2</c>;
/// <c>.u64 n0..</c>; <c>.s64 s0_0 .. s2_R</c>; <c>.s64 sdim</c>; <c>.u64 size</c> (the extent along dim).</para>
/// <para>An index outside [0, size) skips its element (no memory outside the tensor is touched); the tensor layer
/// has already rejected such indices with an IndexException, so this only guards direct backend calls.</para>
/// <para>w32 kernels split the element index with 32-bit divisions (several times cheaper than 64-bit ones on the GPU);
/// the host picks them when the element count plus the grid's thread count fits in 32 bits.</para>
/// <para>Float scatter_add sums in the order the atomics reach memory, which on a real GPU varies from run to run, so
/// float32/float64 results differ from the CPU's serial sum (and between runs) in the last bits, as in PyTorch;
/// integer results are exact. The emulator runs atomic kernels' blocks in order, so it is deterministic.</para>
/// </remarks>
internal static class IndexPtxGen
{
    /// <summary>The PTX type of an element of <paramref name="bytes"/> bytes moved as bits, and its register class.</summary>
    private static (string Type, string Reg) Bits(int bytes) => bytes switch
    {
        1 => ("u8", "h"),
        2 => ("u16", "h"),
        4 => ("u32", "r"),
        8 => ("u64", "rd"),
        _ => throw new ArgumentOutOfRangeException(nameof(bytes), bytes, "element size must be 1, 2, 4 or 8"),
    };

    /// <summary>The gather kernel: dst[i] = src[base(i) + index[i]·sdim] for elements of <paramref name="bytes"/> bytes.</summary>
    public static string Gather(string name, int rank, int bytes, bool wide) =>
        Build(name, rank, wide, $"gather of {bytes}-byte elements, rank {rank}, {(wide ? 64 : 32)}-bit element index", (w, p, off, k, sdim) =>
        {
            var (ty, reg) = Bits(bytes);
            string a = w.Reg("rd"), v = w.Reg(reg);
            w.Emit($"mad.lo.s64 {a}, {k}, {sdim}, {off[2]}");
            w.Emit($"mad.lo.s64 {a}, {a}, {bytes}, {p[2]}");
            w.Emit($"ld.global.nc.{ty} {v}, [{a}]");
            w.Emit($"mad.lo.s64 {a}, {off[0]}, {bytes}, {p[0]}");
            w.Emit($"st.global.{ty} [{a}], {v}");
        });

    /// <summary>The scatter-add kernel: dst[base(i) + index[i]·sdim] += src[i] for element type <paramref name="t"/>.</summary>
    public static string ScatterAdd(string name, int rank, ElemType t, bool wide) =>
        Build(name, rank, wide, $"scatter_add of {PtxGen.TypeSuffix(t)}, rank {rank}, {(wide ? 64 : 32)}-bit element index", (w, p, off, k, sdim) =>
        {
            int size = PtxGen.Size(t);
            string sa = w.Reg("rd"), da = w.Reg("rd"), v = w.Reg(t);
            w.Emit($"mad.lo.s64 {sa}, {off[2]}, {size}, {p[2]}");
            w.Emit($"ld.global.nc.{PtxGen.TypeSuffix(t)} {v}, [{sa}]");
            w.Emit($"mad.lo.s64 {da}, {k}, {sdim}, {off[0]}");
            w.Emit($"mad.lo.s64 {da}, {da}, {size}, {p[0]}");
            switch (t)
            {
                case ElemType.F32 or ElemType.F64: w.Emit($"red.global.add.{PtxGen.TypeSuffix(t)} [{da}], {v}"); break;
                case ElemType.S64: w.Emit($"red.global.add.u64 [{da}], {v}"); break;
                case ElemType.S32: w.Emit($"red.global.add.u32 [{da}], {v}"); break;
                default: ByteAdd(w, da, v); break;
            }
        });

    /// <summary>
    /// Adds the byte <paramref name="v"/> (in a 16-bit register) to the byte at <paramref name="addr"/>, wrapping mod 256:
    /// compare-and-swap on the aligned 32-bit word holding it (sm_80 has no 8-bit atomics). The word may extend past
    /// the tensor's last byte, never past its block: the caching allocator hands out multiples of 512 bytes (CachingAllocator.RoundSize).
    /// </summary>
    private static void ByteAdd(PtxWriter w, string addr, string v)
    {
        string wa = w.Reg("rd"), lo = w.Reg("r"), sh = w.Reg("r"), add = w.Reg("r"), mask = w.Reg("r"), keep = w.Reg("r");
        string old = w.Reg("r"), sum = w.Reg("r"), nw = w.Reg("r"), got = w.Reg("r"), retry = w.Reg("p");
        w.Emit($"and.b64 {wa}, {addr}, -4");
        w.Emit($"cvt.u32.u64 {lo}, {addr}");
        w.Emit($"and.b32 {lo}, {lo}, 3");
        w.Emit($"shl.b32 {sh}, {lo}, 3");                 // bit position of the byte in its (little-endian) word
        w.Emit($"cvt.u32.u16 {add}, {v}");
        w.Emit($"shl.b32 {add}, {add}, {sh}");
        w.Emit($"mov.u32 {mask}, 255");
        w.Emit($"shl.b32 {mask}, {mask}, {sh}");
        w.Emit($"not.b32 {keep}, {mask}");
        w.Emit($"ld.global.u32 {old}, [{wa}]");            // a first guess; the CAS returns the word as it really was
        w.Mark("CAS");
        w.Emit($"add.u32 {sum}, {old}, {add}");            // the low bytes of add are 0: nothing carries into the bytes below
        w.Emit($"and.b32 {sum}, {sum}, {mask}");           // drops the carry out of the byte
        w.Emit($"and.b32 {nw}, {old}, {keep}");
        w.Emit($"or.b32 {nw}, {nw}, {sum}");
        w.Emit($"atom.global.cas.b32 {got}, [{wa}], {old}, {nw}");
        w.Emit($"setp.ne.u32 {retry}, {got}, {old}");
        w.Emit($"mov.u32 {old}, {got}");
        w.Emit($"@{retry} bra CAS");
    }

    /// <summary>
    /// The shared skeleton: parameters, grid-stride loop, coordinate split, index load and range check; <paramref name="body"/>
    /// gets the operand base pointers, the element offsets of the three operands, the index value and sdim.
    /// </summary>
    private static string Build(string name, int rank, bool wide, string comment, Action<PtxWriter, string[], string[], string, string> body)
    {
        const int k = 3;
        var w = new PtxWriter();
        var ps = new List<string> { ".u64 total" };
        for (int o = 0; o < k; o++) ps.Add($".u64 p{o}");
        for (int d = 0; d < rank; d++) ps.Add($".u64 n{d}");
        for (int o = 0; o < k; o++)
            for (int d = 0; d < rank; d++) ps.Add($".s64 s{o}_{d}");
        ps.Add(".s64 sdim");
        ps.Add(".u64 size");

        // The element index and coordinates live in 32-bit registers (w32) or 64-bit ones (w64).
        string ic = wide ? "rd" : "r", it = wide ? "u64" : "u32";
        string total = w.Reg(ic);
        if (wide) w.Emit($"ld.param.u64 {total}, [total]");
        else { string t64 = w.Reg("rd"); w.Emit($"ld.param.u64 {t64}, [total]"); w.Emit($"cvt.u32.u64 {total}, {t64}"); }
        var p = new string[k];
        for (int o = 0; o < k; o++) { p[o] = w.Reg("rd"); w.Emit($"ld.param.u64 {p[o]}, [p{o}]"); }
        var n = new string[rank];
        for (int d = 1; d < rank; d++)   // n0 is never needed: the last quotient is coordinate 0
        {
            n[d] = w.Reg(ic);
            if (wide) w.Emit($"ld.param.u64 {n[d]}, [n{d}]");
            else { string t64 = w.Reg("rd"); w.Emit($"ld.param.u64 {t64}, [n{d}]"); w.Emit($"cvt.u32.u64 {n[d]}, {t64}"); }
        }
        var s = new string[k, rank];
        for (int o = 0; o < k; o++)
            for (int d = 0; d < rank; d++) { s[o, d] = w.Reg("rd"); w.Emit($"ld.param.s64 {s[o, d]}, [s{o}_{d}]"); }
        string sdim = w.Reg("rd"), size = w.Reg("rd");
        w.Emit($"ld.param.s64 {sdim}, [sdim]");
        w.Emit($"ld.param.u64 {size}, [size]");

        string ctaid = w.Reg("r"), ntid = w.Reg("r"), tid = w.Reg("r"), nctaid = w.Reg("r");
        w.Emit($"mov.u32 {ctaid}, %ctaid.x");
        w.Emit($"mov.u32 {ntid}, %ntid.x");
        w.Emit($"mov.u32 {tid}, %tid.x");
        w.Emit($"mov.u32 {nctaid}, %nctaid.x");
        string i = w.Reg(ic), step = w.Reg(ic);
        if (wide)
        {
            string t64 = w.Reg("rd");
            w.Emit($"mul.wide.u32 {i}, {ctaid}, {ntid}");
            w.Emit($"cvt.u64.u32 {t64}, {tid}");
            w.Emit($"add.u64 {i}, {i}, {t64}");
            w.Emit($"mul.wide.u32 {step}, {nctaid}, {ntid}");
        }
        else
        {
            w.Emit($"mad.lo.u32 {i}, {ctaid}, {ntid}, {tid}");
            w.Emit($"mul.lo.u32 {step}, {nctaid}, {ntid}");
        }
        string pdone = w.Reg("p"), pskip = w.Reg("p");
        string rem = w.Reg(ic), q = w.Reg(ic), coord = w.Reg(ic), c64 = wide ? coord : w.Reg("rd");
        var off = new string[k];
        for (int o = 0; o < k; o++) off[o] = w.Reg("rd");
        string ia = w.Reg("rd"), kv = w.Reg("rd");

        w.Mark("LOOP");
        w.Emit($"setp.ge.{it} {pdone}, {i}, {total}");
        w.Emit($"@{pdone} bra DONE");
        w.Emit($"mov.{it} {rem}, {i}");
        for (int o = 0; o < k; o++) w.Emit($"mov.u64 {off[o]}, 0");
        for (int d = rank - 1; d >= 0; d--)
        {
            if (d > 0)
            {
                w.Emit($"div.{it} {q}, {rem}, {n[d]}");
                w.Emit($"mul.lo.{it} {coord}, {q}, {n[d]}");
                w.Emit($"sub.{it} {coord}, {rem}, {coord}");
            }
            string c = d > 0 ? coord : rem;
            if (!wide) { w.Emit($"cvt.u64.u32 {c64}, {c}"); c = c64; }
            for (int o = 0; o < k; o++) w.Emit($"mad.lo.s64 {off[o]}, {c}, {s[o, d]}, {off[o]}");
            if (d > 0) w.Emit($"mov.{it} {rem}, {q}");
        }
        w.Emit($"mad.lo.s64 {ia}, {off[1]}, 8, {p[1]}");
        w.Emit($"ld.global.nc.s64 {kv}, [{ia}]");
        w.Emit($"setp.ge.u64 {pskip}, {kv}, {size}");    // unsigned: a negative index is out of range too
        w.Emit($"@{pskip} bra NEXT");
        body(w, p, off, kv, sdim);
        w.Mark("NEXT");
        w.Emit($"add.{it} {i}, {i}, {step}");
        w.Emit("bra LOOP");
        w.Mark("DONE");
        w.Emit("ret");
        return w.Build(name, ps, comment);
    }
}
