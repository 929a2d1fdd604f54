namespace CsiDriver.Testing.Aws;

/// <summary>
/// How the EC2 simulator behaves. The object stays live after start: delays and buckets read here are read
/// at the moment each request is handled, so a test can tighten or relax them between steps.
/// Defaults are fast (tests); <see cref="Realistic"/> gives EC2's real throttling with short state delays.
/// </summary>
public sealed class Ec2SimulatorOptions
{
    public string Region { get; set; } = "us-east-1";

    /// <summary>The loopback port to listen on; 0 picks a free one (tests), a fixed one suits a standalone simulator.</summary>
    public int Port { get; set; }

    /// <summary>The account every volume and snapshot belongs to (ownerId).</summary>
    public string AccountId { get; set; } = "111122223333";

    /// <summary>Zones DescribeAvailabilityZones lists and CreateVolume accepts: name → zone id.</summary>
    public IReadOnlyDictionary<string, string> AvailabilityZones { get; set; } = new Dictionary<string, string>
    {
        ["us-east-1a"] = "use1-az1",
        ["us-east-1b"] = "use1-az2",
        ["us-east-1c"] = "use1-az4",
    };

    /// <summary>creating → available.</summary>
    public TimeSpan VolumeCreateDelay { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>deleting → gone (NotFound).</summary>
    public TimeSpan VolumeDeleteDelay { get; set; } = TimeSpan.FromMilliseconds(20);

    /// <summary>attachment attaching → attached.</summary>
    public TimeSpan AttachDelay { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>attachment detaching → gone (volume available again).</summary>
    public TimeSpan DetachDelay { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>snapshot pending → completed.</summary>
    public TimeSpan SnapshotDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>modification modifying → optimizing (the new size is usable from optimizing on).</summary>
    public TimeSpan ModificationModifyingDelay { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>modification optimizing → completed.</summary>
    public TimeSpan ModificationOptimizingDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>EC2 allows one modification per volume per 6 hours; a second one inside the window is refused.</summary>
    public TimeSpan ModificationCooldown { get; set; } = TimeSpan.FromHours(6);

    /// <summary>fast snapshot restore enabling → enabled.</summary>
    public TimeSpan FastSnapshotRestoreDelay { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Eventual consistency: a new volume or snapshot is absent from Describe* answers this long.</summary>
    public TimeSpan VisibilityDelay { get; set; } = TimeSpan.Zero;

    /// <summary>Added to every request before it is handled (network and service time).</summary>
    public TimeSpan Latency { get; set; } = TimeSpan.Zero;

    /// <summary>Volumes one instance can have attached when the seed does not say (Nitro: 28 slots less one ENI).</summary>
    public int DefaultMaxVolumeAttachments { get; set; } = 27;

    public Ec2ThrottlingOptions Throttling { get; set; } = Ec2ThrottlingOptions.Disabled();

    /// <summary>The clock of every state transition and token bucket; a test may pass a hand-driven one.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>EC2's real request buckets and state delays short enough for a benchmark.</summary>
    public static Ec2SimulatorOptions Realistic() => new()
    {
        VolumeCreateDelay = TimeSpan.FromSeconds(2),
        VolumeDeleteDelay = TimeSpan.FromSeconds(1),
        AttachDelay = TimeSpan.FromSeconds(2),
        DetachDelay = TimeSpan.FromSeconds(2),
        SnapshotDelay = TimeSpan.FromSeconds(3),
        VisibilityDelay = TimeSpan.FromMilliseconds(500),
        Latency = TimeSpan.FromMilliseconds(20),
        Throttling = Ec2ThrottlingOptions.Ec2Defaults(),
    };
}

/// <summary>Burst (bucket size) and refill (tokens per second) of one bucket.</summary>
public readonly record struct TokenBucketLimit(int Burst, double RefillPerSecond)
{
    /// <summary>Least time the bucket allows for <paramref name="calls"/> calls starting full.</summary>
    public TimeSpan Floor(long calls) =>
        TimeSpan.FromSeconds(Math.Max(0, calls - Burst) / RefillPerSecond);
}

/// <summary>
/// EC2's request-rate throttling: every API action has its own bucket (EC2 evaluates each API individually),
/// its size and refill given by the action's category.
/// </summary>
public sealed class Ec2ThrottlingOptions
{
    public bool Enabled { get; set; }

    /// <summary>Describe*: non-mutating actions.</summary>
    public TokenBucketLimit Describe { get; set; } = new(100, 20);

    /// <summary>CreateVolume, DeleteVolume, CreateSnapshot(s), DeleteSnapshot (and CopyVolumes, which creates a volume too).</summary>
    public TokenBucketLimit VolumeLifecycle { get; set; } = new(100, 5);

    /// <summary>AttachVolume, DetachVolume, ModifyVolume.</summary>
    public TokenBucketLimit Attachment { get; set; } = new(50, 5);

    /// <summary>Every other mutating action (CreateTags, DeleteTags, EnableFastSnapshotRestores).</summary>
    public TokenBucketLimit OtherMutating { get; set; } = new(200, 10);

    /// <summary>Per-action overrides, consulted before the categories.</summary>
    public Dictionary<string, TokenBucketLimit> Overrides { get; } = new(StringComparer.Ordinal);

    public static Ec2ThrottlingOptions Disabled() => new() { Enabled = false };

    public static Ec2ThrottlingOptions Ec2Defaults() => new() { Enabled = true };

    public TokenBucketLimit LimitFor(string action)
    {
        if (Overrides.TryGetValue(action, out var limit))
        {
            return limit;
        }
        return action switch
        {
            _ when action.StartsWith("Describe", StringComparison.Ordinal) => Describe,
            "CreateVolume" or "DeleteVolume" or "CreateSnapshot" or "CreateSnapshots" or "DeleteSnapshot" or "CopyVolumes" => VolumeLifecycle,
            "AttachVolume" or "DetachVolume" or "ModifyVolume" => Attachment,
            _ => OtherMutating,
        };
    }
}
