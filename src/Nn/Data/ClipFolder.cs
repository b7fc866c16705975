namespace Engine.Nn.Data;

/// <summary>Where a <see cref="ClipFolder"/> takes a clip's first frame from.</summary>
public enum ClipStart
{
    /// <summary>Uniformly among the starts whose clip fits (drawn from the loader's per-sample generator: new every epoch).</summary>
    Random,
    /// <summary>The middle: the clip's span is centred in the video (rounded down), for evaluation.</summary>
    Centre,
}

/// <summary>What a <see cref="ClipFolder"/> does with a video that has fewer frames than a clip spans.</summary>
public enum ShortVideo
{
    /// <summary>Plays the video again from its first frame: frame k of the clip is video frame (k · stride) mod n.</summary>
    Loop,
    /// <summary>Repeats the last frame: frame k of the clip is video frame min(k · stride, n − 1).</summary>
    RepeatLast,
    /// <summary>Rejects the video when the dataset is built (a <see cref="DataException"/> naming its folder).</summary>
    Error,
}

/// <summary>
/// Video clips kept as frame images, the way frames extracted from UCF-101 or Kinetics are usually stored:
/// <c>root/class/video/frame_0001.jpg</c>. Every subfolder of the root is a class (labels by ordinal-sorted name),
/// every subfolder of a class is one video, and its PNG, JPEG or BMP files, in natural order of their names
/// (frame_2 before frame_10), are its frames. A sample is a clip of <see cref="Frames"/> frames taken every
/// <see cref="Stride"/> frames of one video, float32 [C, T, H, W] in [0, 1] with <see cref="Channels"/> channels,
/// decoded (by <see cref="ImageFolder"/>'s decoder) when read, so loader workers decode in parallel; only the frames
/// of the clip are decoded.
/// <para>
/// The first frame is random (<see cref="ClipStart.Random"/>, a new draw every epoch from the loader's per-sample
/// generator) or central (<see cref="ClipStart.Centre"/>, and always when read without a generator). A video shorter
/// than a clip's span (T − 1) · stride + 1 is looped or its last frame repeated (<see cref="ShortVideo"/>).
/// </para>
/// <para>
/// Construction reads every frame's header and throws a <see cref="DataException"/> naming the path for a root
/// without class folders, a class without videos, a video without frames, a frame that is not a readable image, or
/// frames of one video of different sizes. Videos may differ in size from each other; add a <see cref="Resize"/> or
/// crop transform (which treats every frame of a clip alike) before batching them.
/// </para>
/// </summary>
public sealed class ClipFolder : IDataset
{
    private const string Op = "clip_folder";
    private readonly Video[] _videos;

    private sealed record Video(string Folder, string[] Frames, int Label, int Height, int Width);

    /// <summary>The root folder.</summary>
    public string Root { get; }

    /// <summary>Class names (the subfolder names, sorted), indexed by label.</summary>
    public IReadOnlyList<string> Classes { get; }

    /// <summary>Channels of the clips produced: 1 (grey) or 3 (RGB).</summary>
    public int Channels { get; }

    /// <summary>Frames per clip (T).</summary>
    public int Frames { get; }

    /// <summary>Step between the video frames a clip takes (1: consecutive frames).</summary>
    public int Stride { get; }

    /// <summary>How the first frame is chosen when the loader supplies a generator.</summary>
    public ClipStart Start { get; }

    /// <summary>What is done with videos shorter than a clip's span.</summary>
    public ShortVideo ShortVideos { get; }

    /// <summary>The video folders, sorted by class then path.</summary>
    public IReadOnlyList<string> Videos => [.. _videos.Select(v => v.Folder)];

    /// <summary>Video frames a clip spans, (T − 1) · stride + 1.</summary>
    public int Span => (Frames - 1) * Stride + 1;

    /// <inheritdoc/>
    public int Count => _videos.Length;

    /// <summary>
    /// Scans <paramref name="root"/> for clips of <paramref name="frames"/> frames every <paramref name="stride"/> video
    /// frames with <paramref name="channels"/> channels (1 or 3).
    /// </summary>
    public ClipFolder(string root, int frames = 16, int stride = 1, ClipStart start = ClipStart.Random, ShortVideo shortVideos = ShortVideo.Loop, int channels = 3)
    {
        if (channels is not (1 or 3)) throw new ArgumentValueException(Op, $"channels must be 1 or 3, got {channels}");
        if (frames < 1) throw new ArgumentValueException(Op, $"a clip needs at least 1 frame, got {frames}");
        if (stride < 1) throw new ArgumentValueException(Op, $"the frame stride must be positive, got {stride}");
        if (!Directory.Exists(root)) throw new DataException(Op, root, "no such folder");
        (Root, Channels, Frames, Stride, Start, ShortVideos) = (root, channels, frames, stride, start, shortVideos);
        var classDirs = Directory.GetDirectories(root).Order(StringComparer.Ordinal).ToArray();
        if (classDirs.Length == 0) throw new DataException(Op, root, "has no class subfolders (expected root/class/video/frame_0001.jpg)");
        Classes = [.. classDirs.Select(d => Path.GetFileName(d)!)];
        var videos = new List<Video>();
        for (int label = 0; label < classDirs.Length; label++)
        {
            var videoDirs = Directory.GetDirectories(classDirs[label]).Order(StringComparer.Ordinal).ToArray();
            if (videoDirs.Length == 0) throw new DataException(Op, classDirs[label], "has no video subfolders (expected class/video/frame_0001.jpg)");
            foreach (var dir in videoDirs) videos.Add(Scan(dir, label));
        }
        _videos = [.. videos];
    }

    private Video Scan(string dir, int label)
    {
        var frames = Directory.GetFiles(dir).Where(ImageFiles.IsImage).ToArray();
        Array.Sort(frames, NaturalOrder.Instance);
        if (frames.Length == 0) throw new DataException(Op, dir, $"has no frames ({string.Join("/", ImageFiles.Extensions)} files)");
        if (frames.Length < Span && ShortVideos == ShortVideo.Error)
            throw new DataException(Op, dir, $"has {frames.Length} frames, fewer than the {Span} a clip of {Frames} frames with stride {Stride} spans");
        var (w, h) = ImageFiles.ReadHeader(frames[0]);
        for (int i = 1; i < frames.Length; i++)
        {
            var (wi, hi) = ImageFiles.ReadHeader(frames[i]);
            if (wi != w || hi != h)
                throw new DataException(Op, frames[i], $"is {wi}x{hi} but the first frame of its video, {Path.GetFileName(frames[0])}, is {w}x{h}; the frames of a video must all have one size");
        }
        return new Video(dir, frames, label, h, w);
    }

    private Video Entry(int index) => (uint)index < (uint)_videos.Length
        ? _videos[index]
        : throw new IndexException(Op, $"index {index} is out of range for {_videos.Length} clips");

    /// <summary>Number of frames of video <paramref name="index"/>.</summary>
    public int FrameCount(int index) => Entry(index).Frames.Length;

    /// <summary>
    /// The video frames clip <paramref name="index"/> takes when it starts at <paramref name="first"/>: every
    /// <see cref="Stride"/>-th frame from there, looped or held at the last frame past the end (<see cref="ShortVideos"/>).
    /// </summary>
    public int[] FrameIndices(int index, int first)
    {
        int n = FrameCount(index);
        if (first < 0 || first >= n) throw new IndexException(Op, $"start frame {first} is out of range for a video of {n} frames");
        var idx = new int[Frames];
        for (int k = 0; k < Frames; k++)
        {
            int f = first + k * Stride;
            idx[k] = f < n ? f : ShortVideos == ShortVideo.RepeatLast ? n - 1 : f % n;
        }
        return idx;
    }

    /// <summary>The first frame of clip <paramref name="index"/>: random (one draw of <paramref name="generator"/>) or central; 0 when the video is shorter than a clip.</summary>
    public int FirstFrame(int index, Generator? generator)
    {
        int room = FrameCount(index) - Span; // starts 0..room keep the clip inside the video
        if (room <= 0) return 0;
        return Start == ClipStart.Random && generator is not null ? generator.Int(0, room + 1) : room / 2;
    }

    /// <inheritdoc/>
    public Sample Get(int index)
    {
        var buffer = new ImageBuffer();
        long label = ReadInto(index, buffer);
        return new Sample(buffer.ToTensor(), label);
    }

    /// <inheritdoc/>
    public long LabelOf(int index) => Entry(index).Label;

    /// <summary>Reads the central clip of video <paramref name="index"/>.</summary>
    public long ReadInto(int index, ImageBuffer image) => Read(index, image, null);

    /// <inheritdoc/>
    public long ReadInto(int index, ImageBuffer image, Generator generator) => Read(index, image, generator);

    private long Read(int index, ImageBuffer image, Generator? generator)
    {
        var video = Entry(index);
        var frames = FrameIndices(index, FirstFrame(index, generator));
        image.ResizeClip(Frames, Channels, video.Height, video.Width);
        for (int k = 0; k < frames.Length; k++)
        {
            int same = Array.IndexOf(frames, frames[k], 0, k);
            if (same >= 0)
            {
                image.Frame(same).CopyTo(image.Frame(k)); // a looped or held frame is decoded once
                continue;
            }
            string path = video.Frames[frames[k]];
            var decoded = ImageFiles.Decode(Op, path, Channels);
            if (decoded.Width != video.Width || decoded.Height != video.Height)
                throw new DataException(Op, path, $"decodes to {decoded.Width}x{decoded.Height} but its header and its video's frames are {video.Width}x{video.Height}");
            ImageOps.InterleavedToPlanar(decoded.Data.AsSpan(0, Channels * video.Height * video.Width), Channels, image.Frame(k));
        }
        return video.Label;
    }

    /// <summary>Orders file names with their digit runs compared as numbers (frame_2 before frame_10), then ordinally.</summary>
    private sealed class NaturalOrder : IComparer<string>
    {
        public static readonly NaturalOrder Instance = new();

        public int Compare(string? a, string? b)
        {
            if (a is null || b is null) return string.CompareOrdinal(a, b);
            int i = 0, j = 0;
            while (i < a.Length && j < b.Length)
            {
                if (char.IsAsciiDigit(a[i]) && char.IsAsciiDigit(b[j]))
                {
                    int si = i, sj = j;
                    while (i < a.Length && char.IsAsciiDigit(a[i])) i++;
                    while (j < b.Length && char.IsAsciiDigit(b[j])) j++;
                    var da = a.AsSpan(si, i - si).TrimStart('0');
                    var db = b.AsSpan(sj, j - sj).TrimStart('0');
                    if (da.Length != db.Length) return da.Length.CompareTo(db.Length);
                    int c = da.SequenceCompareTo(db);
                    if (c != 0) return c;
                    continue;
                }
                if (a[i] != b[j]) return a[i].CompareTo(b[j]);
                i++;
                j++;
            }
            int rest = (a.Length - i).CompareTo(b.Length - j);
            return rest != 0 ? rest : string.CompareOrdinal(a, b);
        }
    }
}
