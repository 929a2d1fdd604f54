namespace CsiDriver.Testing.Aws;

/// <summary>An instance the simulator knows: where it is and which devices it already uses.</summary>
/// <param name="BlockDevices">Devices in use before the test starts (root volume and others): device → volume id.</param>
/// <param name="MaxVolumeAttachments">Volume slots of the instance, counting <paramref name="BlockDevices"/>; null = the simulator's default.</param>
public sealed record Ec2InstanceSeed(
    string InstanceId,
    string AvailabilityZone,
    string InstanceType = "m5.large",
    IReadOnlyDictionary<string, string>? BlockDevices = null,
    int? MaxVolumeAttachments = null,
    string State = "running")
{
    /// <summary>A running instance with only a root volume at /dev/xvda.</summary>
    public static Ec2InstanceSeed WithRootVolume(string instanceId, string availabilityZone, string instanceType = "m5.large") =>
        new(instanceId, availabilityZone, instanceType,
            new Dictionary<string, string> { ["/dev/xvda"] = RootVolumeId(instanceId) });

    private static string RootVolumeId(string instanceId) =>
        "vol-" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(instanceId)))[..17];
}

/// <summary>What a test sees of a volume (including ones Describe* does not show yet).</summary>
public sealed record Ec2VolumeView(
    string VolumeId,
    int Size,
    string VolumeType,
    int? Iops,
    int? Throughput,
    bool Encrypted,
    string? KmsKeyId,
    string AvailabilityZone,
    string SnapshotId,
    string? SourceVolumeId,
    bool MultiAttachEnabled,
    string State,
    bool Visible,
    string? ClientToken,
    IReadOnlyDictionary<string, string> Tags,
    IReadOnlyList<Ec2AttachmentView> Attachments);

public sealed record Ec2AttachmentView(string InstanceId, string Device, string State);

public sealed record Ec2SnapshotView(
    string SnapshotId,
    string VolumeId,
    int VolumeSize,
    string State,
    bool Visible,
    string Description,
    IReadOnlyDictionary<string, string> Tags,
    IReadOnlyList<string> FastRestoreZones,
    bool Encrypted = false,
    string? KmsKeyId = null);

internal sealed class SimVolume
{
    public required string Id { get; init; }
    public required int Size { get; set; }
    public required string Type { get; set; }
    public int? Iops { get; set; }
    public int? Throughput { get; set; }
    public bool Encrypted { get; init; }
    public string? KmsKeyId { get; init; }
    public required string AvailabilityZone { get; init; }
    public string SnapshotId { get; init; } = "";
    public bool MultiAttach { get; set; }
    public bool FastRestored { get; init; }
    public string? ClientToken { get; init; }
    public string? SourceVolumeId { get; init; }
    public DateTimeOffset CreateTime { get; init; }
    public DateTimeOffset AvailableAt { get; init; }
    public DateTimeOffset VisibleAt { get; init; }
    public DateTimeOffset? GoneAt { get; set; }

    /// <summary>Ends up in state error instead of available (an injected creation failure).</summary>
    public bool Fails { get; init; }
    public Dictionary<string, string> Tags { get; } = new(StringComparer.Ordinal);
    public List<SimAttachment> Attachments { get; } = [];
    public SimModification? Modification { get; set; }

    public bool IsVisible(DateTimeOffset now) => now >= VisibleAt;

    public string State(DateTimeOffset now) => GoneAt switch
    {
        { } gone when now >= gone => "deleted",
        not null => "deleting",
        _ when now < AvailableAt => "creating",
        _ when Fails => "error",
        _ when Attachments.Count > 0 => "in-use",
        _ => "available",
    };

    public Ec2VolumeView View(DateTimeOffset now) => new(
        Id, Size, Type, Iops, Throughput, Encrypted, KmsKeyId, AvailabilityZone, SnapshotId, SourceVolumeId, MultiAttach,
        State(now), IsVisible(now), ClientToken, new Dictionary<string, string>(Tags),
        Attachments.Select(a => new Ec2AttachmentView(a.InstanceId, a.Device, a.State(now))).ToList());
}

internal sealed class SimAttachment
{
    public required string VolumeId { get; init; }
    public required string InstanceId { get; init; }
    public required string Device { get; init; }
    public DateTimeOffset AttachTime { get; init; }
    public DateTimeOffset AttachedAt { get; init; }
    public DateTimeOffset? GoneAt { get; set; }

    public string State(DateTimeOffset now) => GoneAt switch
    {
        { } gone when now >= gone => "detached",
        not null => "detaching",
        _ when now < AttachedAt => "attaching",
        _ => "attached",
    };
}

internal sealed class SimSnapshot
{
    public required string Id { get; init; }
    public required string VolumeId { get; init; }
    public required int VolumeSize { get; init; }
    public string Description { get; init; } = "";
    public bool Encrypted { get; init; }
    public string? KmsKeyId { get; init; }
    public required string OwnerId { get; init; }
    public DateTimeOffset StartTime { get; init; }
    /// <summary>When EC2 completes it; settable so a test can complete a pending snapshot now.</summary>
    public DateTimeOffset CompletedAt { get; set; }
    public DateTimeOffset VisibleAt { get; init; }
    public Dictionary<string, string> Tags { get; } = new(StringComparer.Ordinal);

    /// <summary>Zones with fast snapshot restore: zone → when it is enabled.</summary>
    public Dictionary<string, DateTimeOffset> FastRestore { get; } = new(StringComparer.Ordinal);

    public bool IsVisible(DateTimeOffset now) => now >= VisibleAt;

    public string State(DateTimeOffset now) => now >= CompletedAt ? "completed" : "pending";

    public string Progress(DateTimeOffset now)
    {
        if (now >= CompletedAt)
        {
            return "100%";
        }
        var total = (CompletedAt - StartTime).TotalMilliseconds;
        var done = total <= 0 ? 0 : (now - StartTime).TotalMilliseconds / total;
        return $"{(int)(Math.Clamp(done, 0, 0.99) * 100)}%";
    }

    public Ec2SnapshotView View(DateTimeOffset now) => new(
        Id, VolumeId, VolumeSize, State(now), IsVisible(now), Description, new Dictionary<string, string>(Tags),
        FastRestore.Keys.Order(StringComparer.Ordinal).ToList(), Encrypted, KmsKeyId);
}

internal sealed class SimModification
{
    public required string VolumeId { get; init; }
    public int OriginalSize { get; init; }
    public string OriginalType { get; init; } = "";
    public int? OriginalIops { get; init; }
    public int? OriginalThroughput { get; init; }
    public bool OriginalMultiAttach { get; init; }
    public int TargetSize { get; init; }
    public string TargetType { get; init; } = "";
    public int? TargetIops { get; init; }
    public int? TargetThroughput { get; init; }
    public bool TargetMultiAttach { get; init; }
    public DateTimeOffset StartTime { get; init; }
    public DateTimeOffset OptimizingAt { get; init; }
    public DateTimeOffset CompletedAt { get; init; }

    /// <summary>Set once the targets were written to the volume (on entering optimizing).</summary>
    public bool Applied { get; set; }

    public string State(DateTimeOffset now) =>
        now >= CompletedAt ? "completed" : now >= OptimizingAt ? "optimizing" : "modifying";

    public long Progress(DateTimeOffset now)
    {
        if (now >= CompletedAt)
        {
            return 100;
        }
        var total = (CompletedAt - StartTime).TotalMilliseconds;
        return total <= 0 ? 0 : (long)Math.Clamp((now - StartTime).TotalMilliseconds / total * 100, 0, 99);
    }
}

internal sealed class SimInstance(Ec2InstanceSeed seed, int maxAttachments)
{
    public Ec2InstanceSeed Seed { get; } = seed;

    public int MaxAttachments { get; } = maxAttachments;

    public Dictionary<string, string> Tags { get; } = new(StringComparer.Ordinal);
}
