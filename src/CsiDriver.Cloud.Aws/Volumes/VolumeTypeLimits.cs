namespace CsiDriver.Cloud.Aws.Volumes;

/// <summary>
/// What EC2 allows for one EBS volume type (size in GiB, IOPS, throughput in MiB/s). Checked before EC2 is
/// called so a bad StorageClass fails fast with a message naming the limit.
/// </summary>
public sealed record VolumeTypeLimits(
    string Type,
    int MinGiB,
    int MaxGiB,
    int? MinIops = null,
    int? MaxIops = null,
    int? MaxIopsPerGiB = null,
    int? BaselineIops = null,
    bool IopsRequired = false,
    int? MinThroughput = null,
    int? MaxThroughput = null,
    bool SupportsMultiAttach = false)
{
    public const string Gp3 = "gp3";
    public const string Gp2 = "gp2";
    public const string Io1 = "io1";
    public const string Io2 = "io2";
    public const string St1 = "st1";
    public const string Sc1 = "sc1";
    public const string Standard = "standard";

    /// <summary>gp3: a throughput above the baseline needs 4 IOPS per MiB/s (0.25 MiB/s per IOPS).</summary>
    public const int Gp3IopsPerMiBps = 4;

    public bool SupportsIops => MaxIops is not null;

    public bool SupportsThroughput => MaxThroughput is not null;

    private static readonly Dictionary<string, VolumeTypeLimits> ByType = new(StringComparer.Ordinal)
    {
        [Gp3] = new(Gp3, 1, 16_384, MinIops: 3_000, MaxIops: 16_000, MaxIopsPerGiB: 500, BaselineIops: 3_000,
            MinThroughput: 125, MaxThroughput: 1_000),
        [Gp2] = new(Gp2, 1, 16_384),
        [Io1] = new(Io1, 4, 16_384, MinIops: 100, MaxIops: 64_000, MaxIopsPerGiB: 50, IopsRequired: true, SupportsMultiAttach: true),
        [Io2] = new(Io2, 4, 65_536, MinIops: 100, MaxIops: 256_000, MaxIopsPerGiB: 1_000, IopsRequired: true, SupportsMultiAttach: true),
        [St1] = new(St1, 125, 16_384),
        [Sc1] = new(Sc1, 125, 16_384),
        [Standard] = new(Standard, 1, 1_024),
    };

    public static IReadOnlyCollection<string> Types => ByType.Keys;

    public static VolumeTypeLimits? Find(string type) => ByType.GetValueOrDefault(type);

    /// <summary>The most IOPS a volume of this size may have (the per-GiB ratio and the type maximum).</summary>
    public int MaxIopsFor(long sizeGiB)
    {
        var max = MaxIops ?? 0;
        if (MaxIopsPerGiB is { } perGiB)
        {
            var bySize = (long)perGiB * sizeGiB;
            // gp3's baseline is free at any size; the ratio only bounds what is provisioned above it.
            var floor = BaselineIops ?? 0;
            max = (int)Math.Min(max, Math.Max(bySize, floor));
        }
        return max;
    }
}
