using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using System.Xml;

namespace CsiDriver.Testing.Aws;

/// <summary>
/// The simulated EC2 account: volumes, attachments, snapshots, modifications, instances, and the actions on them.
/// One lock guards all state; states advance lazily from timestamps each time a request comes in,
/// so no timers run and a hand-driven clock gives exact transitions.
/// </summary>
internal sealed partial class Ec2Service(Ec2SimulatorOptions options, Ec2Statistics statistics)
{
    private static readonly string[] VolumeTypes = ["standard", "gp2", "gp3", "io1", "io2", "st1", "sc1"];

    private readonly Lock _gate = new();
    private readonly SortedDictionary<string, SimVolume> _volumes = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, SimSnapshot> _snapshots = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, SimInstance> _instances = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (string Fingerprint, SimVolume Volume)> _clientTokens = new(StringComparer.Ordinal);

    private int _failNextCreations;
    private readonly List<string> _failedVolumeIds = [];

    private DateTimeOffset Now => options.TimeProvider.GetUtcNow();

    /// <summary>The next <paramref name="count"/> volumes CreateVolume or CopyVolumes makes go to state error instead of available.</summary>
    public void FailNextVolumeCreations(int count)
    {
        lock (_gate)
        {
            _failNextCreations += count;
        }
    }

    /// <summary>Every volume made to fail so far (it went, or will go, to state error).</summary>
    public IReadOnlyList<string> FailedVolumeIds()
    {
        lock (_gate)
        {
            return [.. _failedVolumeIds];
        }
    }

    private bool TakeCreationFailure()
    {
        if (_failNextCreations <= 0)
        {
            return false;
        }
        _failNextCreations--;
        return true;
    }

    public static readonly IReadOnlySet<string> Actions = new HashSet<string>(StringComparer.Ordinal)
    {
        "CreateVolume", "DeleteVolume", "DescribeVolumes", "AttachVolume", "DetachVolume", "ModifyVolume",
        "DescribeVolumesModifications", "CreateSnapshot", "DeleteSnapshot", "DescribeSnapshots", "CreateTags",
        "DeleteTags", "DescribeInstances", "DescribeAvailabilityZones", "EnableFastSnapshotRestores",
        "DescribeFastSnapshotRestores", "CopyVolumes", "CreateSnapshots", "CopySnapshot",
    };

    public void AddInstance(Ec2InstanceSeed seed)
    {
        lock (_gate)
        {
            _instances[seed.InstanceId] = new SimInstance(seed, seed.MaxVolumeAttachments ?? options.DefaultMaxVolumeAttachments);
        }
    }

    public IReadOnlyList<Ec2VolumeView> Volumes()
    {
        lock (_gate)
        {
            var now = Advance();
            return _volumes.Values.Select(v => v.View(now)).ToList();
        }
    }

    public IReadOnlyList<Ec2SnapshotView> Snapshots()
    {
        lock (_gate)
        {
            var now = Advance();
            return _snapshots.Values.Select(s => s.View(now)).ToList();
        }
    }

    /// <summary>Every snapshot still pending completes now; the ids of those that did.</summary>
    public IReadOnlyList<string> CompletePendingSnapshots()
    {
        lock (_gate)
        {
            var now = Advance();
            var pending = _snapshots.Values.Where(s => s.CompletedAt > now).ToList();
            foreach (var snapshot in pending)
            {
                snapshot.CompletedAt = now;
            }
            return [.. pending.Select(s => s.Id)];
        }
    }

    /// <summary>Handles one action; writes the response body or throws <see cref="Ec2ErrorException"/>.</summary>
    public Action<XmlWriter> Handle(Ec2Request request)
    {
        // The source of a copy lives in another region's service: read it before taking this one's lock.
        var copySource = request.Action == "CopySnapshot" ? CopySourceOf(request) : null;
        lock (_gate)
        {
            var now = Advance();
            return request.Action switch
            {
                "CreateVolume" => CreateVolume(request, now),
                "CopyVolumes" => CopyVolumes(request, now),
                "DeleteVolume" => DeleteVolume(request, now),
                "DescribeVolumes" => DescribeVolumes(request, now),
                "AttachVolume" => AttachVolume(request, now),
                "DetachVolume" => DetachVolume(request, now),
                "ModifyVolume" => ModifyVolume(request, now),
                "DescribeVolumesModifications" => DescribeVolumesModifications(request, now),
                "CreateSnapshot" => CreateSnapshot(request, now),
                "CreateSnapshots" => CreateSnapshots(request, now),
                "CopySnapshot" => CopySnapshot(request, now, copySource!),
                "DeleteSnapshot" => DeleteSnapshot(request),
                "DescribeSnapshots" => DescribeSnapshots(request, now),
                "CreateTags" => CreateTags(request),
                "DeleteTags" => DeleteTags(request),
                "DescribeInstances" => DescribeInstances(request, now),
                "DescribeAvailabilityZones" => DescribeAvailabilityZones(request),
                "EnableFastSnapshotRestores" => EnableFastSnapshotRestores(request, now),
                "DescribeFastSnapshotRestores" => DescribeFastSnapshotRestores(request, now),
                _ => throw new Ec2ErrorException("InvalidAction", $"The action {request.Action} is not valid for this web service."),
            };
        }
    }

    /// <summary>Applies every transition that is due: deletions, detachments, modifications reaching optimizing.</summary>
    private DateTimeOffset Advance()
    {
        var now = Now;
        foreach (var volume in _volumes.Values.ToList())
        {
            if (volume.GoneAt is { } gone && now >= gone)
            {
                _volumes.Remove(volume.Id);
                continue;
            }
            volume.Attachments.RemoveAll(a => a.GoneAt is { } detached && now >= detached);
            if (volume.Modification is { Applied: false } modification && now >= modification.OptimizingAt)
            {
                volume.Size = modification.TargetSize;
                volume.Type = modification.TargetType;
                volume.Iops = modification.TargetIops;
                volume.Throughput = modification.TargetThroughput;
                volume.MultiAttach = modification.TargetMultiAttach;
                modification.Applied = true;
            }
        }
        return now;
    }

    // ---------------------------------------------------------------- volumes

    private Action<XmlWriter> CreateVolume(Ec2Request request, DateTimeOffset now)
    {
        var token = request.Get("ClientToken");
        if (token is not null)
        {
            if (token.Length > 64)
            {
                throw Ec2ErrorException.InvalidValue("ClientToken", token, "The client token must be at most 64 ASCII characters.");
            }
            if (Replayed(request, token) is { } prior)
            {
                return w => WriteVolume(w, prior, now);
            }
        }

        var zone = request.Get("AvailabilityZone");
        if (zone is null && request.Get("AvailabilityZoneId") is { } zoneId)
        {
            zone = options.AvailabilityZones.FirstOrDefault(z => z.Value == zoneId).Key
                ?? throw new Ec2ErrorException("InvalidParameterValue", $"Invalid availability zone id: [{zoneId}]");
        }
        if (zone is null)
        {
            throw Ec2ErrorException.Missing("AvailabilityZone");
        }
        if (!options.AvailabilityZones.ContainsKey(zone))
        {
            throw new Ec2ErrorException("InvalidParameterValue", $"Invalid availability zone: [{zone}]");
        }

        SimSnapshot? snapshot = null;
        if (request.Get("SnapshotId") is { Length: > 0 } snapshotId)
        {
            snapshot = FindSnapshot(snapshotId);
            if (snapshot.State(now) != "completed")
            {
                throw new Ec2ErrorException("IncorrectState", $"Snapshot is in invalid state - {snapshot.State(now)}");
            }
        }

        var type = request.Get("VolumeType") ?? "gp2";
        RequireVolumeType(type);
        var size = request.GetInt("Size") ?? snapshot?.VolumeSize
            ?? throw new Ec2ErrorException("MissingParameter", "The request must contain the parameter size or snapshotId");
        if (snapshot is not null && size < snapshot.VolumeSize)
        {
            throw new Ec2ErrorException("InvalidParameterValue",
                $"Volume of size {size}GB is smaller than snapshot '{snapshot.Id}', expect size >= {snapshot.VolumeSize}GB");
        }
        var encrypted = (request.GetBool("Encrypted") ?? false) || (snapshot?.Encrypted ?? false);
        var kmsKeyId = request.Get("KmsKeyId");
        if (kmsKeyId is not null && !encrypted)
        {
            throw new Ec2ErrorException("InvalidParameterDependency", "The parameter KmsKeyId requires the parameter Encrypted to be set.");
        }
        if (encrypted)
        {
            kmsKeyId ??= snapshot?.KmsKeyId ?? $"arn:aws:kms:{options.Region}:{options.AccountId}:key/00000000-0000-0000-0000-00000000ebs0";
        }

        var volume = AddVolume(request, token, now, zone, type, size, encrypted, kmsKeyId,
            snapshotId: snapshot?.Id ?? "",
            fastRestored: snapshot is not null && snapshot.FastRestore.TryGetValue(zone, out var enabledAt) && now >= enabledAt);
        return w => WriteVolume(w, volume, now);
    }

    /// <summary>A crash-consistent copy of a volume in its own zone (EC2's clone).</summary>
    private Action<XmlWriter> CopyVolumes(Ec2Request request, DateTimeOffset now)
    {
        var token = request.Get("ClientToken");
        if (token is not null && Replayed(request, token) is { } prior)
        {
            return w => w.Set("volumeSet", [prior], v => WriteVolume(w, v, now));
        }
        var source = FindVolume(request.Required("SourceVolumeId"));
        if (source.State(now) is not ("available" or "in-use"))
        {
            throw new Ec2ErrorException("IncorrectState", $"The volume '{source.Id}' is '{source.State(now)}'.");
        }
        var size = request.GetInt("Size") ?? source.Size;
        if (size < source.Size)
        {
            throw new Ec2ErrorException("InvalidParameterValue", $"The size of the copy ({size}GiB) must be at least the size of the source volume ({source.Size}GiB).");
        }
        var type = request.Get("VolumeType") ?? source.Type;
        RequireVolumeType(type);
        var volume = AddVolume(request, token, now, source.AvailabilityZone, type, size, source.Encrypted, source.KmsKeyId, sourceVolumeId: source.Id);
        return w => w.Set("volumeSet", [volume], v => WriteVolume(w, v, now));
    }

    /// <summary>
    /// A new volume from a create or a copy: checks the request's performance and multi-attach for the type, tags
    /// it, stores it and remembers its client token for replays.
    /// </summary>
    private SimVolume AddVolume(
        Ec2Request request, string? token, DateTimeOffset now, string zone, string type, int size, bool encrypted, string? kmsKeyId,
        string snapshotId = "", bool fastRestored = false, string? sourceVolumeId = null)
    {
        var (iops, throughput) = Performance(type, size, request.GetInt("Iops"), request.GetInt("Throughput"), current: null);
        var multiAttach = request.GetBool("MultiAttachEnabled") ?? false;
        RequireMultiAttachType(multiAttach, type);
        var tags = request.GetTagSpecifications("volume");
        var volume = new SimVolume
        {
            Id = NewId("vol"),
            Size = size,
            Type = type,
            Iops = iops,
            Throughput = throughput,
            Encrypted = encrypted,
            KmsKeyId = kmsKeyId,
            AvailabilityZone = zone,
            SnapshotId = snapshotId,
            SourceVolumeId = sourceVolumeId,
            MultiAttach = multiAttach,
            FastRestored = fastRestored,
            ClientToken = token,
            CreateTime = now,
            AvailableAt = now + options.VolumeCreateDelay,
            VisibleAt = now + options.VisibilityDelay,
            Fails = TakeCreationFailure(),
        };
        if (volume.Fails)
        {
            _failedVolumeIds.Add(volume.Id);
        }
        foreach (var (key, value) in tags)
        {
            volume.Tags[key] = value;
        }
        _volumes[volume.Id] = volume;
        if (token is not null)
        {
            _clientTokens[token] = (request.Fingerprint(), volume);
        }
        return volume;
    }

    /// <summary>The volume an earlier request with this client token made; a different request with the token is EC2's mismatch error.</summary>
    private SimVolume? Replayed(Ec2Request request, string token)
    {
        if (!_clientTokens.TryGetValue(token, out var prior))
        {
            return null;
        }
        return prior.Fingerprint == request.Fingerprint()
            ? prior.Volume
            : throw new Ec2ErrorException("IdempotentParameterMismatch",
                $"The client token '{token}' was used with different parameters in an earlier request.");
    }

    private static void RequireVolumeType(string type)
    {
        if (!VolumeTypes.Contains(type))
        {
            throw Ec2ErrorException.InvalidValue("VolumeType", type, $"Valid values: {string.Join(", ", VolumeTypes)}.");
        }
    }

    private static void RequireMultiAttachType(bool multiAttach, string type)
    {
        if (multiAttach && type is not ("io1" or "io2"))
        {
            throw new Ec2ErrorException("InvalidParameterCombination", $"Multi-Attach is supported only on io1 and io2 volumes, not {type}.");
        }
    }

    /// <summary>Checks size, IOPS and throughput for the type; returns what the volume reports.</summary>
    private static (int? Iops, int? Throughput) Performance(string type, int size, int? iops, int? throughput, SimVolume? current)
    {
        var (minSize, maxSize) = type switch
        {
            "io1" or "io2" => (4, type == "io2" ? 65536 : 16384),
            "st1" or "sc1" => (125, 16384),
            "standard" => (1, 1024),
            _ => (1, 16384),
        };
        if (size < minSize)
        {
            throw new Ec2ErrorException("InvalidParameterValue", $"Volume of {size}GiB is too small; minimum is {minSize}GiB for {type}.");
        }
        if (size > maxSize)
        {
            throw new Ec2ErrorException("InvalidParameterValue", $"Volume of {size}GiB is too large for volume type {type}; maximum is {maxSize}GiB.");
        }
        if (throughput is not null && type != "gp3")
        {
            throw new Ec2ErrorException("InvalidParameterCombination", $"The parameter throughput is not supported for {type} volumes.");
        }
        switch (type)
        {
            case "gp3":
            {
                var keepCurrent = current?.Type == "gp3";
                var effectiveIops = iops ?? (keepCurrent ? current!.Iops : null) ?? 3000;
                var effectiveThroughput = throughput ?? (keepCurrent ? current!.Throughput : null) ?? 125;
                CheckIops(type, size, effectiveIops, 3000, 16000, 500);
                if (effectiveThroughput is < 125 or > 1000)
                {
                    throw new Ec2ErrorException("InvalidParameterValue", $"Throughput of {effectiveThroughput}MiB/s is out of range [125, 1000] for gp3.");
                }
                if (effectiveThroughput > effectiveIops / 4)
                {
                    throw new Ec2ErrorException("InvalidParameterValue",
                        $"Throughput of {effectiveThroughput}MiB/s is too high for {effectiveIops} IOPS; maximum is 0.25 MiB/s per IOPS.");
                }
                return (effectiveIops, effectiveThroughput);
            }
            case "io1" or "io2":
            {
                var effectiveIops = iops ?? (current?.Type == type ? current.Iops : null)
                    ?? throw new Ec2ErrorException("MissingParameter", $"The request must contain the parameter iops for {type} volumes");
                CheckIops(type, size, effectiveIops, 100, type == "io1" ? 64000 : 256000, type == "io1" ? 50 : 1000);
                return (effectiveIops, null);
            }
            default:
                if (iops is not null)
                {
                    throw new Ec2ErrorException("InvalidParameterCombination", $"The parameter iops is not supported for {type} volumes.");
                }
                return (type == "gp2" ? Math.Clamp(size * 3, 100, 16000) : null, null);
        }
    }

    private static void CheckIops(string type, int size, int iops, int min, int max, int perGiB)
    {
        if (iops < min || iops > max)
        {
            throw new Ec2ErrorException("InvalidParameterValue", $"Volume iops of {iops} is out of range [{min}, {max}] for {type}.");
        }
        // gp3's 3000 baseline IOPS come with any size; the ratio limits what is provisioned above it.
        if (iops > (long)size * perGiB && !(type == "gp3" && iops <= 3000))
        {
            throw new Ec2ErrorException("InvalidParameterValue",
                $"Iops to volume size ratio of {iops / (double)size:0.###} is too high; maximum is {perGiB}.");
        }
    }

    private Action<XmlWriter> DeleteVolume(Ec2Request request, DateTimeOffset now)
    {
        var volume = FindVolume(request.Required("VolumeId"));
        if (volume.Attachments.Count > 0)
        {
            throw new Ec2ErrorException("VolumeInUse", $"Volume {volume.Id} is currently attached to {volume.Attachments[0].InstanceId}");
        }
        switch (volume.State(now))
        {
            case "creating":
                throw new Ec2ErrorException("IncorrectState", $"The volume '{volume.Id}' is 'creating'");
            case "available":
            case "error":
                volume.GoneAt = now + options.VolumeDeleteDelay;
                break;
        }
        return w => w.El("return", true);
    }

    /// <summary>
    /// What a Describe call starts from: every resource, or exactly the ids asked for. As EC2 does, one malformed,
    /// unknown or not yet visible id fails the whole call (counted as hidden when only eventual consistency hides it).
    /// </summary>
    private IEnumerable<T> Candidates<T>(
        IReadOnlyList<string> ids, SortedDictionary<string, T> store, Func<T, bool> visible, string prefix, string malformedCode, string notFoundCode, string noun)
    {
        if (ids.Count == 0)
        {
            return store.Values;
        }
        var missing = ids.Where(id => !store.TryGetValue(CheckId(id, prefix, malformedCode), out var item) || !visible(item)).ToList();
        if (missing.Count > 0)
        {
            statistics.Hidden(missing.Count(store.ContainsKey));
            throw new Ec2ErrorException(notFoundCode, $"The {noun} '{string.Join(", ", missing)}' does not exist.");
        }
        return ids.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).Select(id => store[id]);
    }

    private Action<XmlWriter> DescribeVolumes(Ec2Request request, DateTimeOffset now)
    {
        var ids = request.GetList("VolumeId");
        var max = MaxResults(request, ids.Count > 0, "volumeSet", 5, 500);
        var candidates = Candidates(ids, _volumes, v => v.IsVisible(now), "vol", "InvalidVolumeID.Malformed", "InvalidVolume.NotFound", "volume");
        var filters = request.GetFilters();
        var matching = candidates.Where(v => Ec2Filters.Matches(filters, name => VolumeFilterValues(v, name, now))).ToList();
        return VisiblePage(request, matching, v => v.IsVisible(now), v => v.Id, max, "volumeSet", (w, v) => WriteVolume(w, v, now));
    }

    /// <summary>
    /// A Describe answer: the visible ones of what matched (the others counted as hidden by eventual consistency),
    /// one page of them by key, written as the set and the nextToken.
    /// </summary>
    private Action<XmlWriter> VisiblePage<T>(
        Ec2Request request, IReadOnlyList<T> matching, Func<T, bool> visible, Func<T, string> key, int? max, string setName, Action<XmlWriter, T> write)
    {
        var shown = matching.Where(visible).ToList();
        statistics.Hidden(matching.Count - shown.Count);
        var (page, next) = Paginate(request, shown, key, max);
        return w =>
        {
            w.Set(setName, page, item => write(w, item));
            w.El("nextToken", next);
        };
    }

    private static IEnumerable<string>? VolumeFilterValues(SimVolume v, string name, DateTimeOffset now) => name switch
    {
        "volume-id" => [v.Id],
        "status" => [v.State(now)],
        "availability-zone" => [v.AvailabilityZone],
        "size" => [v.Size.ToString(CultureInfo.InvariantCulture)],
        "volume-type" => [v.Type],
        "snapshot-id" => [v.SnapshotId],
        "encrypted" => [v.Encrypted ? "true" : "false"],
        "multi-attach-enabled" => [v.MultiAttach ? "true" : "false"],
        "fast-restored" => [v.FastRestored ? "true" : "false"],
        "create-time" => [Time(v.CreateTime)],
        "attachment.instance-id" => v.Attachments.Select(a => a.InstanceId),
        "attachment.device" => v.Attachments.Select(a => a.Device),
        "attachment.status" => v.Attachments.Select(a => a.State(now)),
        "attachment.attach-time" => v.Attachments.Select(a => Time(a.AttachTime)),
        "attachment.delete-on-termination" => v.Attachments.Select(_ => "false"),
        _ => Ec2Filters.TagValues(v.Tags, name),
    };

    private void WriteVolume(XmlWriter w, SimVolume v, DateTimeOffset now)
    {
        w.El("volumeId", v.Id);
        w.El("size", v.Size);
        // EC2 sends an empty snapshotId for a volume not made from a snapshot.
        w.El("snapshotId", v.SnapshotId);
        w.El("availabilityZone", v.AvailabilityZone);
        w.El("availabilityZoneId", options.AvailabilityZones.GetValueOrDefault(v.AvailabilityZone));
        w.El("status", v.State(now));
        w.El("createTime", v.CreateTime);
        w.Set("attachmentSet", v.Attachments, a => WriteAttachment(w, a, now));
        if (v.Tags.Count > 0)
        {
            w.Tags(v.Tags);
        }
        w.El("volumeType", v.Type);
        w.El("iops", v.Iops);
        w.El("throughput", v.Throughput);
        w.El("encrypted", v.Encrypted);
        w.El("kmsKeyId", v.KmsKeyId);
        w.El("multiAttachEnabled", v.MultiAttach);
        w.El("fastRestored", v.FastRestored);
        w.El("sourceVolumeId", v.SourceVolumeId);
    }

    private static void WriteAttachment(XmlWriter w, SimAttachment a, DateTimeOffset now)
    {
        w.El("volumeId", a.VolumeId);
        w.El("instanceId", a.InstanceId);
        w.El("device", a.Device);
        w.El("status", a.State(now));
        w.El("attachTime", a.AttachTime);
        w.El("deleteOnTermination", false);
    }

    // ------------------------------------------------------------ attachments

    private Action<XmlWriter> AttachVolume(Ec2Request request, DateTimeOffset now)
    {
        var device = request.Required("Device");
        var instance = FindInstance(request.Required("InstanceId"));
        var volume = FindVolume(request.Required("VolumeId"));
        var state = volume.State(now);
        if (state is "creating" or "deleting")
        {
            throw new Ec2ErrorException("IncorrectState", $"{volume.Id} is not 'available'.");
        }
        if (volume.AvailabilityZone != instance.Seed.AvailabilityZone)
        {
            throw new Ec2ErrorException("InvalidVolume.ZoneMismatch",
                $"The volume '{volume.Id}' is not in the same availability zone as instance '{instance.Seed.InstanceId}'");
        }
        if (volume.Attachments.Any(a => a.InstanceId == instance.Seed.InstanceId)
            || (!volume.MultiAttach && volume.Attachments.Count > 0))
        {
            throw new Ec2ErrorException("VolumeInUse", $"{volume.Id} is already attached to an instance");
        }
        if (volume.Attachments.Count >= 16)
        {
            throw new Ec2ErrorException("AttachmentLimitExceeded", $"Volume {volume.Id} is attached to the maximum of 16 instances.");
        }
        if (!DeviceName().IsMatch(device))
        {
            throw Ec2ErrorException.InvalidValue("device", device, $"{device} is not a valid EBS device name.");
        }
        var used = DevicesInUse(instance).ToList();
        if (used.Contains(device))
        {
            throw new Ec2ErrorException("InvalidParameterValue", $"Invalid value '{device}' for unixDevice. Attachment point {device} is already in use");
        }
        if (used.Count >= instance.MaxAttachments)
        {
            throw new Ec2ErrorException("AttachmentLimitExceeded",
                $"The maximum number of volume attachments ({instance.MaxAttachments}) has been reached for instance {instance.Seed.InstanceId}.");
        }
        var attachment = new SimAttachment
        {
            VolumeId = volume.Id,
            InstanceId = instance.Seed.InstanceId,
            Device = device,
            AttachTime = now,
            AttachedAt = now + options.AttachDelay,
        };
        volume.Attachments.Add(attachment);
        return w => WriteAttachment(w, attachment, now);
    }

    private IEnumerable<string> DevicesInUse(SimInstance instance) =>
        (instance.Seed.BlockDevices?.Keys ?? [])
            .Concat(_volumes.Values.SelectMany(v => v.Attachments).Where(a => a.InstanceId == instance.Seed.InstanceId).Select(a => a.Device));

    private Action<XmlWriter> DetachVolume(Ec2Request request, DateTimeOffset now)
    {
        var volume = FindVolume(request.Required("VolumeId"));
        var instanceId = request.Get("InstanceId");
        var device = request.Get("Device");
        if (instanceId is not null)
        {
            FindInstance(instanceId);
        }
        var candidates = volume.Attachments
            .Where(a => (instanceId is null || a.InstanceId == instanceId) && (device is null || a.Device == device))
            .ToList();
        if (candidates.Count == 0)
        {
            if (volume.Attachments.Count == 0)
            {
                throw new Ec2ErrorException("IncorrectState", $"Volume '{volume.Id}' is in the '{volume.State(now)}' state.");
            }
            throw new Ec2ErrorException("InvalidAttachment.NotFound",
                $"Volume '{volume.Id}' is not attached to instance '{instanceId ?? "(any)"}' at device '{device ?? "(any)"}'.");
        }
        if (candidates.Count > 1)
        {
            throw new Ec2ErrorException("InvalidParameterCombination",
                $"Volume '{volume.Id}' is attached to more than one instance; specify the instance.");
        }
        var attachment = candidates[0];
        // Detaching twice is not an error: EC2 answers with the attachment, still detaching.
        attachment.GoneAt ??= now + options.DetachDelay;
        return w => WriteAttachment(w, attachment, now);
    }

    // ---------------------------------------------------------- modifications

    private Action<XmlWriter> ModifyVolume(Ec2Request request, DateTimeOffset now)
    {
        var volume = FindVolume(request.Required("VolumeId"));
        if (volume.State(now) is "creating" or "deleting")
        {
            throw new Ec2ErrorException("IncorrectState", $"The volume '{volume.Id}' is not in a state that allows modification ({volume.State(now)}).");
        }
        if (volume.Modification is { } previous)
        {
            if (previous.State(now) != "completed")
            {
                throw new Ec2ErrorException("IncorrectModificationState",
                    $"Volume {volume.Id} is already being modified (state {previous.State(now)}).");
            }
            if (now < previous.StartTime + options.ModificationCooldown)
            {
                throw new Ec2ErrorException("VolumeModificationRateExceeded",
                    "You've reached the maximum modification rate per volume limit. Wait at least 6 hours between modifications per EBS volume.");
            }
        }
        var size = request.GetInt("Size");
        var type = request.Get("VolumeType");
        var iops = request.GetInt("Iops");
        var throughput = request.GetInt("Throughput");
        var multiAttach = request.GetBool("MultiAttachEnabled");
        if (size is null && type is null && iops is null && throughput is null && multiAttach is null)
        {
            throw new Ec2ErrorException("InvalidParameterCombination", "No modification was specified: give at least one of Size, VolumeType, Iops, Throughput, MultiAttachEnabled.");
        }
        if (size < volume.Size)
        {
            throw new Ec2ErrorException("InvalidParameterValue", $"New size ({size}GiB) cannot be smaller than the existing size ({volume.Size}GiB).");
        }
        var targetType = type ?? volume.Type;
        if (!VolumeTypes.Contains(targetType))
        {
            throw Ec2ErrorException.InvalidValue("VolumeType", targetType, $"Valid values: {string.Join(", ", VolumeTypes)}.");
        }
        var targetSize = size ?? volume.Size;
        var (targetIops, targetThroughput) = Performance(targetType, targetSize, iops, throughput, volume);
        var targetMultiAttach = multiAttach ?? volume.MultiAttach;
        if (targetSize == volume.Size && targetType == volume.Type && targetIops == volume.Iops
            && targetThroughput == volume.Throughput && targetMultiAttach == volume.MultiAttach)
        {
            throw new Ec2ErrorException("InvalidParameterValue", $"The modification would not change volume {volume.Id}.");
        }
        var optimizingAt = now + options.ModificationModifyingDelay;
        var modification = new SimModification
        {
            VolumeId = volume.Id,
            OriginalSize = volume.Size,
            OriginalType = volume.Type,
            OriginalIops = volume.Iops,
            OriginalThroughput = volume.Throughput,
            OriginalMultiAttach = volume.MultiAttach,
            TargetSize = targetSize,
            TargetType = targetType,
            TargetIops = targetIops,
            TargetThroughput = targetThroughput,
            TargetMultiAttach = targetMultiAttach,
            StartTime = now,
            OptimizingAt = optimizingAt,
            CompletedAt = optimizingAt + options.ModificationOptimizingDelay,
        };
        volume.Modification = modification;
        return w => w.Struct("volumeModification", () => WriteModification(w, modification, now));
    }

    private Action<XmlWriter> DescribeVolumesModifications(Ec2Request request, DateTimeOffset now)
    {
        var ids = request.GetList("VolumeId");
        var max = MaxResults(request, false, "volumeId", 1, 500);
        List<SimModification> modifications;
        if (ids.Count > 0)
        {
            modifications = [];
            foreach (var id in ids.Distinct(StringComparer.Ordinal))
            {
                var volume = FindVolume(id);
                modifications.Add(volume.Modification
                    ?? throw new Ec2ErrorException("InvalidVolumeModification.NotFound", $"Modification for volume '{id}' does not exist."));
            }
        }
        else
        {
            modifications = _volumes.Values.Select(v => v.Modification).OfType<SimModification>().ToList();
        }
        var filters = request.GetFilters();
        var matching = modifications
            .Where(m => Ec2Filters.Matches(filters, name => name switch
            {
                "volume-id" => [m.VolumeId],
                "modification-state" => [m.State(now)],
                "target-size" => [m.TargetSize.ToString(CultureInfo.InvariantCulture)],
                "target-volume-type" => [m.TargetType],
                "original-size" => [m.OriginalSize.ToString(CultureInfo.InvariantCulture)],
                "original-volume-type" => [m.OriginalType],
                "start-time" => [Time(m.StartTime)],
                _ => null,
            }))
            .OrderBy(m => m.VolumeId, StringComparer.Ordinal)
            .ToList();
        return VisiblePage(request, matching, _ => true, m => m.VolumeId, max, "volumeModificationSet", (w, m) => WriteModification(w, m, now));
    }

    private static void WriteModification(XmlWriter w, SimModification m, DateTimeOffset now)
    {
        var state = m.State(now);
        w.El("volumeId", m.VolumeId);
        w.El("modificationState", state);
        w.El("targetSize", m.TargetSize);
        w.El("targetIops", m.TargetIops);
        w.El("targetVolumeType", m.TargetType);
        w.El("targetThroughput", m.TargetThroughput);
        w.El("targetMultiAttachEnabled", m.TargetMultiAttach);
        w.El("originalSize", m.OriginalSize);
        w.El("originalIops", m.OriginalIops);
        w.El("originalVolumeType", m.OriginalType);
        w.El("originalThroughput", m.OriginalThroughput);
        w.El("originalMultiAttachEnabled", m.OriginalMultiAttach);
        w.El("progress", m.Progress(now));
        w.El("startTime", m.StartTime);
        if (state == "completed")
        {
            w.El("endTime", m.CompletedAt);
        }
    }

    // -------------------------------------------------------------- snapshots

    private Action<XmlWriter> CreateSnapshot(Ec2Request request, DateTimeOffset now)
    {
        var volume = FindVolume(request.Required("VolumeId"));
        if (volume.State(now) is "creating" or "deleting")
        {
            throw new Ec2ErrorException("IncorrectState", $"The volume '{volume.Id}' is '{volume.State(now)}'.");
        }
        var description = request.Get("Description") ?? "";
        if (description.Length > 255)
        {
            throw new Ec2ErrorException("InvalidParameterValue", "The description must be at most 255 characters.");
        }
        var snapshot = NewSnapshot(volume.Id, volume.Size, description, volume.Encrypted, volume.KmsKeyId,
            request.GetTagSpecifications("snapshot"), now, options.SnapshotDelay);
        _snapshots[snapshot.Id] = snapshot;
        return w => WriteSnapshot(w, snapshot, now);
    }

    /// <summary>A tagged snapshot of this account, started now and completed after <paramref name="takes"/>; the caller stores it.</summary>
    private SimSnapshot NewSnapshot(
        string volumeId, int volumeSize, string description, bool encrypted, string? kmsKeyId,
        IEnumerable<KeyValuePair<string, string>> tags, DateTimeOffset now, TimeSpan takes)
    {
        var snapshot = new SimSnapshot
        {
            Id = NewId("snap"),
            VolumeId = volumeId,
            VolumeSize = volumeSize,
            Description = description,
            Encrypted = encrypted,
            KmsKeyId = kmsKeyId,
            OwnerId = options.AccountId,
            StartTime = now,
            CompletedAt = now + takes,
            VisibleAt = now + options.VisibilityDelay,
        };
        foreach (var (key, value) in tags)
        {
            snapshot.Tags[key] = value;
        }
        return snapshot;
    }

    private Action<XmlWriter> DeleteSnapshot(Ec2Request request)
    {
        var snapshot = FindSnapshot(request.Required("SnapshotId"));
        _snapshots.Remove(snapshot.Id);
        return w => w.El("return", true);
    }

    private Action<XmlWriter> DescribeSnapshots(Ec2Request request, DateTimeOffset now)
    {
        var ids = request.GetList("SnapshotId");
        var max = MaxResults(request, ids.Count > 0, "snapshotSet", 5, 1000);
        var owners = request.GetList("Owner");
        var candidates = Candidates(ids, _snapshots, s => s.IsVisible(now), "snap", "InvalidSnapshotID.Malformed", "InvalidSnapshot.NotFound", "snapshot");
        if (owners.Count > 0)
        {
            candidates = candidates.Where(s => owners.Any(o => o == "self" || o == s.OwnerId));
        }
        var filters = request.GetFilters();
        var matching = candidates.Where(s => Ec2Filters.Matches(filters, name => name switch
        {
            "snapshot-id" => [s.Id],
            "volume-id" => [s.VolumeId],
            "status" => [s.State(now)],
            "owner-id" => [s.OwnerId],
            "description" => [s.Description],
            "progress" => [s.Progress(now)],
            "start-time" => [Time(s.StartTime)],
            "volume-size" => [s.VolumeSize.ToString(CultureInfo.InvariantCulture)],
            "encrypted" => [s.Encrypted ? "true" : "false"],
            "storage-tier" => ["standard"],
            _ => Ec2Filters.TagValues(s.Tags, name),
        })).ToList();
        return VisiblePage(request, matching, s => s.IsVisible(now), s => s.Id, max, "snapshotSet", (w, s) => WriteSnapshot(w, s, now));
    }

    /// <summary>A snapshot as Describe/CreateSnapshot answer it.</summary>
    private static void WriteSnapshot(XmlWriter w, SimSnapshot s, DateTimeOffset now)
    {
        WriteSnapshotInfo(w, s, now, stateElement: "status");
        w.El("kmsKeyId", s.KmsKeyId);
        w.El("storageTier", "standard");
    }

    /// <summary>
    /// What every snapshot answer has: CreateSnapshots' SnapshotInfo names the state "state", the Snapshot type
    /// of the other calls "status".
    /// </summary>
    private static void WriteSnapshotInfo(XmlWriter w, SimSnapshot s, DateTimeOffset now, string stateElement)
    {
        w.El("snapshotId", s.Id);
        w.El("volumeId", s.VolumeId);
        w.El(stateElement, s.State(now));
        w.El("startTime", s.StartTime);
        w.El("progress", s.Progress(now));
        w.El("ownerId", s.OwnerId);
        w.El("volumeSize", s.VolumeSize);
        w.El("description", s.Description);
        w.El("encrypted", s.Encrypted);
        if (s.Tags.Count > 0)
        {
            w.Tags(s.Tags);
        }
    }

    private Action<XmlWriter> EnableFastSnapshotRestores(Ec2Request request, DateTimeOffset now)
    {
        var zones = request.GetList("AvailabilityZone");
        var snapshotIds = request.GetList("SourceSnapshotId");
        if (zones.Count == 0)
        {
            throw Ec2ErrorException.Missing("AvailabilityZone.1");
        }
        if (snapshotIds.Count == 0)
        {
            throw Ec2ErrorException.Missing("SourceSnapshotId.1");
        }
        var successful = new List<(SimSnapshot Snapshot, string Zone)>();
        var failed = new List<(string SnapshotId, List<(string Zone, string Code, string Message)> Errors)>();
        foreach (var id in snapshotIds)
        {
            var errors = new List<(string, string, string)>();
            _snapshots.TryGetValue(id, out var snapshot);
            foreach (var zone in zones)
            {
                if (snapshot is null)
                {
                    errors.Add((zone, "InvalidSnapshot.NotFound", $"The snapshot '{id}' does not exist."));
                }
                else if (!options.AvailabilityZones.ContainsKey(zone))
                {
                    errors.Add((zone, "InvalidParameterValue", $"Invalid availability zone: [{zone}]"));
                }
                else
                {
                    if (!snapshot.FastRestore.ContainsKey(zone))
                    {
                        snapshot.FastRestore[zone] = Max(now, snapshot.CompletedAt) + options.FastSnapshotRestoreDelay;
                    }
                    successful.Add((snapshot, zone));
                }
            }
            if (errors.Count > 0)
            {
                failed.Add((id, errors));
            }
        }
        return w =>
        {
            w.Set("successful", successful, s => WriteFastRestore(w, s.Snapshot, s.Zone, now));
            w.Set("unsuccessful", failed, f =>
            {
                w.El("snapshotId", f.SnapshotId);
                w.Set("fastSnapshotRestoreStateErrorSet", f.Errors, e =>
                {
                    w.El("availabilityZone", e.Zone);
                    w.Struct("error", () =>
                    {
                        w.El("code", e.Code);
                        w.El("message", e.Message);
                    });
                });
            });
        };
    }

    private Action<XmlWriter> DescribeFastSnapshotRestores(Ec2Request request, DateTimeOffset now)
    {
        var filters = request.GetFilters();
        var items = _snapshots.Values
            .SelectMany(s => s.FastRestore.Keys.Order(StringComparer.Ordinal).Select(zone => (Snapshot: s, Zone: zone)))
            .Where(x => Ec2Filters.Matches(filters, name => name switch
            {
                "snapshot-id" => [x.Snapshot.Id],
                "availability-zone" => [x.Zone],
                "owner-id" => [x.Snapshot.OwnerId],
                "state" => [now >= x.Snapshot.FastRestore[x.Zone] ? "enabled" : "enabling"],
                _ => null,
            }))
            .ToList();
        return w => w.Set("fastSnapshotRestoreSet", items, x => WriteFastRestore(w, x.Snapshot, x.Zone, now));
    }

    private static void WriteFastRestore(XmlWriter w, SimSnapshot s, string zone, DateTimeOffset now)
    {
        var enabledAt = s.FastRestore[zone];
        w.El("snapshotId", s.Id);
        w.El("availabilityZone", zone);
        w.El("state", now >= enabledAt ? "enabled" : "enabling");
        w.El("ownerId", s.OwnerId);
        w.El("enablingTime", now >= enabledAt ? enabledAt : now);
        if (now >= enabledAt)
        {
            w.El("enabledTime", enabledAt);
        }
    }

    // ------------------------------------------------------------------- tags

    private Action<XmlWriter> CreateTags(Ec2Request request)
    {
        var resources = request.GetList("ResourceId");
        if (resources.Count == 0)
        {
            throw Ec2ErrorException.Missing("ResourceId.1");
        }
        var tags = request.GetTags("Tag");
        if (tags.Count == 0)
        {
            throw Ec2ErrorException.Missing("Tag.1.Key");
        }
        var targets = resources.Select(TagsOf).ToList();
        foreach (var target in targets)
        {
            var merged = new Dictionary<string, string>(target, StringComparer.Ordinal);
            foreach (var tag in tags)
            {
                merged[tag.Key] = tag.Value ?? "";
            }
            Ec2Tags.Validate(merged);
        }
        foreach (var target in targets)
        {
            foreach (var tag in tags)
            {
                target[tag.Key] = tag.Value ?? "";
            }
        }
        return w => w.El("return", true);
    }

    private Action<XmlWriter> DeleteTags(Ec2Request request)
    {
        var resources = request.GetList("ResourceId");
        if (resources.Count == 0)
        {
            throw Ec2ErrorException.Missing("ResourceId.1");
        }
        var tags = request.GetTags("Tag");
        foreach (var target in resources.Select(TagsOf).ToList())
        {
            if (tags.Count == 0)
            {
                target.Clear();
                continue;
            }
            foreach (var tag in tags)
            {
                // With a value, only a tag holding that value goes.
                if (target.TryGetValue(tag.Key, out var value) && (tag.Value is null || tag.Value == value))
                {
                    target.Remove(tag.Key);
                }
            }
        }
        return w => w.El("return", true);
    }

    private Dictionary<string, string> TagsOf(string resourceId) => resourceId switch
    {
        _ when resourceId.StartsWith("vol-", StringComparison.Ordinal) => FindVolume(resourceId).Tags,
        _ when resourceId.StartsWith("snap-", StringComparison.Ordinal) => FindSnapshot(resourceId).Tags,
        _ when resourceId.StartsWith("i-", StringComparison.Ordinal) => FindInstance(resourceId).Tags,
        _ => throw new Ec2ErrorException("InvalidID", $"The ID '{resourceId}' is not valid"),
    };

    // -------------------------------------------------------------- instances

    private Action<XmlWriter> DescribeInstances(Ec2Request request, DateTimeOffset now)
    {
        var ids = request.GetList("InstanceId");
        var max = MaxResults(request, ids.Count > 0, "instanceIdSet", 5, 1000);
        var candidates = ids.Count > 0
            ? ids.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).Select(FindInstance).ToList()
            : _instances.Values.ToList();
        var filters = request.GetFilters();
        var matching = candidates.Where(i => Ec2Filters.Matches(filters, name => name switch
        {
            "instance-id" => [i.Seed.InstanceId],
            "availability-zone" => [i.Seed.AvailabilityZone],
            "instance-state-name" => [i.Seed.State],
            "instance-type" => [i.Seed.InstanceType],
            "block-device-mapping.device-name" => BlockDevices(i, now).Select(b => b.Device),
            "block-device-mapping.volume-id" => BlockDevices(i, now).Select(b => b.VolumeId),
            _ => Ec2Filters.TagValues(i.Tags, name),
        })).ToList();
        var (page, next) = Paginate(request, matching, i => i.Seed.InstanceId, max);
        return w =>
        {
            w.Set("reservationSet", page, i =>
            {
                w.El("reservationId", "r-" + i.Seed.InstanceId.Replace("i-", "", StringComparison.Ordinal));
                w.El("ownerId", options.AccountId);
                w.Set("groupSet", Array.Empty<string>(), _ => { });
                w.Set("instancesSet", [i], instance => WriteInstance(w, instance, now));
            });
            w.El("nextToken", next);
        };
    }

    private IEnumerable<(string Device, string VolumeId, string Status, DateTimeOffset AttachTime)> BlockDevices(SimInstance instance, DateTimeOffset now)
    {
        var seeded = (instance.Seed.BlockDevices ?? new Dictionary<string, string>())
            .Select(b => (b.Key, b.Value, "attached", DateTimeOffset.UnixEpoch));
        var attached = _volumes.Values
            .SelectMany(v => v.Attachments)
            .Where(a => a.InstanceId == instance.Seed.InstanceId)
            .Select(a => (a.Device, a.VolumeId, a.State(now), a.AttachTime));
        return seeded.Concat(attached).OrderBy(b => b.Item1, StringComparer.Ordinal);
    }

    private void WriteInstance(XmlWriter w, SimInstance i, DateTimeOffset now)
    {
        w.El("instanceId", i.Seed.InstanceId);
        w.El("imageId", "ami-0123456789abcdef0");
        w.Struct("instanceState", () =>
        {
            w.El("code", i.Seed.State switch { "pending" => 0, "running" => 16, "stopping" => 64, "stopped" => 80, _ => 48 });
            w.El("name", i.Seed.State);
        });
        w.El("instanceType", i.Seed.InstanceType);
        w.Struct("placement", () =>
        {
            w.El("availabilityZone", i.Seed.AvailabilityZone);
            w.El("tenancy", "default");
        });
        w.El("rootDeviceType", "ebs");
        w.El("rootDeviceName", "/dev/xvda");
        w.Set("blockDeviceMapping", BlockDevices(i, now), b =>
        {
            w.El("deviceName", b.Device);
            w.Struct("ebs", () =>
            {
                w.El("volumeId", b.VolumeId);
                w.El("status", b.Status);
                w.El("attachTime", b.AttachTime);
                w.El("deleteOnTermination", false);
            });
        });
        if (i.Tags.Count > 0)
        {
            w.Tags(i.Tags);
        }
    }

    private Action<XmlWriter> DescribeAvailabilityZones(Ec2Request request)
    {
        var names = request.GetList("ZoneName");
        var zoneIds = request.GetList("ZoneId");
        foreach (var name in names.Where(n => !options.AvailabilityZones.ContainsKey(n)))
        {
            throw new Ec2ErrorException("InvalidParameterValue", $"The zone '{name}' does not exist.");
        }
        var filters = request.GetFilters();
        var zones = options.AvailabilityZones
            .Where(z => (names.Count == 0 || names.Contains(z.Key)) && (zoneIds.Count == 0 || zoneIds.Contains(z.Value)))
            .Where(z => Ec2Filters.Matches(filters, name => name switch
            {
                "zone-name" => [z.Key],
                "zone-id" => [z.Value],
                "state" => ["available"],
                "region-name" => [options.Region],
                "zone-type" => ["availability-zone"],
                _ => null,
            }))
            .OrderBy(z => z.Key, StringComparer.Ordinal)
            .ToList();
        return w => w.Set("availabilityZoneInfo", zones, z =>
        {
            w.El("zoneName", z.Key);
            w.El("zoneState", "available");
            w.El("regionName", options.Region);
            w.El("zoneId", z.Value);
            w.El("zoneType", "availability-zone");
            w.El("optInStatus", "opt-in-not-required");
            w.El("groupName", options.Region);
            w.El("networkBorderGroup", options.Region);
        });
    }

    // ---------------------------------------------------------------- helpers

    private SimVolume FindVolume(string id) =>
        _volumes.TryGetValue(CheckId(id, "vol", "InvalidVolumeID.Malformed"), out var volume)
            ? volume
            : throw new Ec2ErrorException("InvalidVolume.NotFound", $"The volume '{id}' does not exist.");

    private SimSnapshot FindSnapshot(string id) =>
        _snapshots.TryGetValue(CheckId(id, "snap", "InvalidSnapshotID.Malformed"), out var snapshot)
            ? snapshot
            : throw new Ec2ErrorException("InvalidSnapshot.NotFound", $"The snapshot '{id}' does not exist.");

    private SimInstance FindInstance(string id) =>
        _instances.TryGetValue(CheckId(id, "i", "InvalidInstanceID.Malformed"), out var instance)
            ? instance
            : throw new Ec2ErrorException("InvalidInstanceID.NotFound", $"The instance ID '{id}' does not exist");

    /// <summary>EC2 ids are prefix-hex (8 or 17 digits); anything else is Malformed, not NotFound.</summary>
    private static string CheckId(string id, string prefix, string malformedCode)
    {
        var hex = id.StartsWith(prefix + "-", StringComparison.Ordinal) ? id[(prefix.Length + 1)..] : null;
        if (hex is null || (hex.Length != 8 && hex.Length != 17) || !hex.All(char.IsAsciiHexDigitLower))
        {
            throw new Ec2ErrorException(malformedCode, $"Invalid id: \"{id}\" (expecting \"{prefix}-...\")");
        }
        return id;
    }

    private static int? MaxResults(Ec2Request request, bool withIds, string idsName, int min, int max)
    {
        var value = request.GetInt("MaxResults");
        if (value is null)
        {
            return null;
        }
        if (withIds)
        {
            throw new Ec2ErrorException("InvalidParameterCombination", $"The parameter {idsName} cannot be used with the parameter maxResults");
        }
        if (value < min || value > max)
        {
            throw new Ec2ErrorException("InvalidParameterValue", $"Value ( {value} ) for parameter maxResults is invalid. Expecting a value between {min} and {max}.");
        }
        return value;
    }

    /// <summary>Items after the token's key, at most max; the token names the action and the last key returned.</summary>
    private static (IReadOnlyList<T> Page, string? NextToken) Paginate<T>(Ec2Request request, IReadOnlyList<T> items, Func<T, string> key, int? max)
    {
        IEnumerable<T> rest = items;
        if (request.Get("NextToken") is { Length: > 0 } token)
        {
            string? after = null;
            try
            {
                var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(token));
                var prefix = request.Action + ":";
                after = decoded.StartsWith(prefix, StringComparison.Ordinal) ? decoded[prefix.Length..] : null;
            }
            catch (FormatException)
            {
            }
            if (after is null)
            {
                throw new Ec2ErrorException("InvalidPaginationToken", $"The pagination token '{token}' is invalid.");
            }
            rest = items.Where(i => string.CompareOrdinal(key(i), after) > 0);
        }
        var remaining = rest.ToList();
        if (max is null || remaining.Count <= max)
        {
            return (remaining, null);
        }
        var page = remaining.Take(max.Value).ToList();
        var next = Convert.ToBase64String(Encoding.UTF8.GetBytes(request.Action + ":" + key(page[^1])));
        return (page, next);
    }

    private static string NewId(string prefix) =>
        prefix + "-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(9))[..17];

    private static string Time(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    [GeneratedRegex("^/dev/((sd|xvd|hd)[a-z]{1,2}[0-9]{0,2})$")]
    private static partial Regex DeviceName();
}

/// <summary>EC2 filter semantics: filters AND together, a filter's values OR, values may hold * and ? wildcards.</summary>
internal static class Ec2Filters
{
    public static bool Matches(IReadOnlyList<Ec2Filter> filters, Func<string, IEnumerable<string>?> valuesOf)
    {
        foreach (var filter in filters)
        {
            var actual = valuesOf(filter.Name)
                ?? throw new Ec2ErrorException("InvalidParameterValue", $"The filter '{filter.Name}' is invalid");
            if (!actual.Any(a => filter.Values.Any(pattern => Glob(pattern, a))))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>Values for tag:Key, tag-key and tag-value; null for an unknown filter name.</summary>
    public static IEnumerable<string>? TagValues(IReadOnlyDictionary<string, string> tags, string name)
    {
        if (name.StartsWith("tag:", StringComparison.Ordinal))
        {
            return tags.TryGetValue(name["tag:".Length..], out var value) ? [value] : [];
        }
        return name switch
        {
            "tag-key" => tags.Keys,
            "tag-value" => tags.Values,
            _ => null,
        };
    }

    private static bool Glob(string pattern, string value)
    {
        if (!pattern.Contains('*', StringComparison.Ordinal) && !pattern.Contains('?', StringComparison.Ordinal))
        {
            return pattern == value;
        }
        var regex = "^" + Regex.Escape(pattern).Replace(@"\*", ".*", StringComparison.Ordinal).Replace(@"\?", ".", StringComparison.Ordinal) + "$";
        return Regex.IsMatch(value, regex, RegexOptions.Singleline, TimeSpan.FromSeconds(1));
    }
}
