namespace Engine.Nn.Data;

/// <summary>Random and stratified splits of datasets, and labelled/unlabelled splits for semi-supervised work.</summary>
public static class Datasets
{
    /// <summary>
    /// Splits <paramref name="dataset"/> into disjoint random subsets of the given sizes (which must add up to
    /// its count), like PyTorch's <c>random_split</c>: one permutation from <paramref name="generator"/>, cut in order.
    /// </summary>
    public static Subset[] RandomSplit(IDataset dataset, IReadOnlyList<int> sizes, Generator generator)
    {
        const string op = "random_split";
        long total = 0;
        foreach (int s in sizes)
        {
            if (s < 0) throw new ArgumentValueException(op, $"split sizes must be non-negative, got {s}");
            total += s;
        }
        if (total != dataset.Count)
            throw new ArgumentValueException(op, $"split sizes add up to {total} but the dataset has {dataset.Count} samples");
        var perm = generator.Permutation(dataset.Count);
        var result = new Subset[sizes.Count];
        int start = 0;
        for (int k = 0; k < sizes.Count; k++)
        {
            var idx = new int[sizes[k]];
            for (int i = 0; i < idx.Length; i++) idx[i] = (int)perm[start + i];
            start += idx.Length;
            result[k] = new Subset(dataset, idx);
        }
        return result;
    }

    /// <summary>
    /// Splits by fractions that add up to 1: each split gets ⌊fraction · count⌋ samples, and the remainder goes
    /// one by one to the splits in order (as PyTorch does).
    /// </summary>
    public static Subset[] RandomSplit(IDataset dataset, IReadOnlyList<double> fractions, Generator generator)
    {
        const string op = "random_split";
        double sum = 0;
        foreach (double f in fractions)
        {
            if (!(f >= 0 && f <= 1)) throw new ArgumentValueException(op, $"fractions must lie in [0, 1], got {f}");
            sum += f;
        }
        if (Math.Abs(sum - 1) > 1e-6) throw new ArgumentValueException(op, $"fractions must add up to 1, got {sum}");
        var sizes = new int[fractions.Count];
        int n = dataset.Count, used = 0;
        for (int k = 0; k < sizes.Length; k++) used += sizes[k] = (int)Math.Floor(n * fractions[k]);
        for (int k = 0; used < n; k = (k + 1) % sizes.Length, used++) sizes[k]++;
        return RandomSplit(dataset, sizes, generator);
    }

    /// <summary>How many samples each label has, by label (ascending).</summary>
    public static SortedDictionary<long, int> CountPerClass(IDataset dataset)
    {
        var counts = new SortedDictionary<long, int>();
        for (int i = 0; i < dataset.Count; i++)
        {
            long l = dataset.LabelOf(i);
            counts[l] = counts.GetValueOrDefault(l) + 1;
        }
        return counts;
    }

    /// <summary>
    /// Indices of a stratified random sample: <paramref name="perClass"/> samples of every label, chosen with
    /// <paramref name="generator"/> (classes in ascending order, one permutation each), returned in ascending order.
    /// Raises <see cref="ArgumentValueException"/> when a class has fewer samples.
    /// </summary>
    public static int[] StratifiedIndices(IDataset dataset, int perClass, Generator generator)
    {
        const string op = "stratified";
        if (perClass < 0) throw new ArgumentValueException(op, $"samples per class must be non-negative, got {perClass}");
        var byClass = IndicesByClass(dataset);
        var chosen = new List<int>(perClass * byClass.Count);
        foreach (var (label, members) in byClass)
        {
            if (members.Count < perClass)
                throw new ArgumentValueException(op, $"class {label} has {members.Count} samples, fewer than the {perClass} requested");
            var perm = generator.Permutation(members.Count);
            for (int i = 0; i < perClass; i++) chosen.Add(members[(int)perm[i]]);
        }
        chosen.Sort();
        return [.. chosen];
    }

    /// <summary>A stratified random sample of <paramref name="perClass"/> samples of every label (see <see cref="StratifiedIndices"/>).</summary>
    public static Subset StratifiedSubset(IDataset dataset, int perClass, Generator generator) =>
        new(dataset, StratifiedIndices(dataset, perClass, generator));

    /// <summary>
    /// A stratified split: about <paramref name="fraction"/> of every class (rounded, per class) in
    /// <c>Selected</c> and the rest in <c>Rest</c>, both in ascending index order.
    /// </summary>
    public static (Subset Selected, Subset Remainder) StratifiedSplit(IDataset dataset, double fraction, Generator generator)
    {
        if (!(fraction >= 0 && fraction <= 1)) throw new ArgumentValueException("stratified_split", $"fraction must lie in [0, 1], got {fraction}");
        var selected = new List<int>();
        foreach (var (_, members) in IndicesByClass(dataset))
        {
            int k = (int)Math.Round(members.Count * fraction, MidpointRounding.AwayFromZero);
            var perm = generator.Permutation(members.Count);
            for (int i = 0; i < k; i++) selected.Add(members[(int)perm[i]]);
        }
        selected.Sort();
        return (new Subset(dataset, selected), new Subset(dataset, Complement(dataset.Count, selected)));
    }

    /// <summary>
    /// A semi-supervised split: <paramref name="labelledPerClass"/> labelled samples of every class, and all the
    /// others as an <see cref="Data.Unlabelled"/> dataset whose labels read −1 (its <c>Dataset</c> keeps the truth).
    /// </summary>
    public static (Subset Labelled, Unlabelled Unlabelled) SemiSupervisedSplit(IDataset dataset, int labelledPerClass, Generator generator)
    {
        var labelled = StratifiedIndices(dataset, labelledPerClass, generator);
        return (new Subset(dataset, labelled), new Unlabelled(new Subset(dataset, Complement(dataset.Count, labelled))));
    }

    private static SortedDictionary<long, List<int>> IndicesByClass(IDataset dataset)
    {
        var byClass = new SortedDictionary<long, List<int>>();
        for (int i = 0; i < dataset.Count; i++)
        {
            long l = dataset.LabelOf(i);
            if (!byClass.TryGetValue(l, out var list)) byClass[l] = list = [];
            list.Add(i);
        }
        return byClass;
    }

    private static int[] Complement(int count, IReadOnlyCollection<int> sortedChosen)
    {
        var taken = new bool[count];
        foreach (int i in sortedChosen) taken[i] = true;
        var rest = new int[count - sortedChosen.Count];
        int k = 0;
        for (int i = 0; i < count; i++)
            if (!taken[i]) rest[k++] = i;
        return rest;
    }
}
