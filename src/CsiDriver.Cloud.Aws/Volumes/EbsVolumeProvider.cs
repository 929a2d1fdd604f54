using Amazon.EC2;
using Amazon.EC2.Model;
using CsiDriver.Cloud.Aws.Attachments;
using CsiDriver.Cloud.Aws.Ec2;
using CsiDriver.Cloud.Aws.Metadata;
using CsiDriver.Cloud.Aws.Snapshots;
using CsiDriver.Cloud.Aws.Waiting;
using CsiDriver.Core;
using CsiDriver.Core.Errors;
using CsiDriver.Core.Volumes;
using SnapshotInfo = CsiDriver.Core.Volumes.SnapshotInfo;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CsiDriver.Cloud.Aws.Volumes;

/// <summary>The EBS controller backend: volumes here, attachments and snapshots in their managers.</summary>
public sealed class EbsVolumeProvider(
    Ec2Caller ec2,
    Ec2Pollers pollers,
    AttachmentManager attachments,
    SnapshotManager snapshots,
    ModificationCoalescer modifications,
    IInstanceMetadataProvider metadata,
    IOptions<AwsBackendOptions> awsOptions,
    IOptions<DriverOptions> driver,
    ILogger<EbsVolumeProvider> logger) : IVolumeProvider
{
    private readonly AwsBackendOptions _options = awsOptions.Value;
    private readonly DriverOptions _driverOptions = driver.Value;

    private readonly CreationTokens _tokens = new();

    public const long GiB = 1L << 30;

    /// <summary>Size of a volume when the request gives none (as aws-ebs-csi-driver).</summary>
    public const int DefaultSizeGiB = 100;

    public const string ZoneKey = "topology.kubernetes.io/zone";

    /// <summary>aws-ebs-csi-driver's own zone key, accepted in requirements so migrated StorageClasses keep working.</summary>
    public const string EbsZoneKey = "topology.ebs.csi.aws.com/zone";

    public const string ZoneIdKey = "topology.k8s.aws/zone-id";

    public string Name => "aws";

    // Liveness probes call this often; it must not spend EC2 API quota.
    public Task<bool> ProbeAsync(CancellationToken cancellationToken) => Task.FromResult(true);

    public async Task<VolumeInfo> CreateVolumeAsync(CreateVolumeSpec spec, CancellationToken cancellationToken)
    {
        var parameters = VolumeParameters.Parse(spec.Parameters, spec.MutableParameters, spec.Capabilities);
        var multiAttach = CheckAccessModes(spec.Capabilities, parameters);
        Snapshot? sourceSnapshot = null;
        Volume? sourceVolume = null;
        long sourceGiB = 0;
        if (spec.ContentSource?.SnapshotId is { } snapshotId)
        {
            sourceSnapshot = await pollers.Snapshots.GetAsync(snapshotId, cancellationToken).ConfigureAwait(false)
                ?? throw StorageException.NotFound($"source snapshot {InputEcho.Of(snapshotId)} does not exist");
            sourceGiB = sourceSnapshot.VolumeSize ?? 0;
        }
        else if (spec.ContentSource?.VolumeId is { } sourceVolumeId)
        {
            sourceVolume = await pollers.Volumes.GetAsync(sourceVolumeId, cancellationToken).ConfigureAwait(false)
                ?? throw StorageException.NotFound($"source volume {InputEcho.Of(sourceVolumeId)} does not exist");
            sourceGiB = sourceVolume.Size ?? 0;
        }
        // With a source and no size asked for, the new volume is the source's size, not the 100 GiB default.
        var sizeGiB = SizeGiB(spec.RequiredBytes, spec.LimitBytes, parameters.Limits, sourceGiB);
        var (iops, throughput) = parameters.ResolvePerformance(sizeGiB);
        // Rendered now, attempt aside: a bad or reserved user tag fails before EC2 is called.
        _ = VolumeTags(spec.Name, parameters, attempt: 1);
        var context = parameters.Format.ToVolumeContext();

        var existing = await FindByNameAsync(spec.Name, cancellationToken).ConfigureAwait(false);
        if (existing is not null)
        {
            CheckSameRequest(spec, existing, sizeGiB, parameters.VolumeType);
            var attempt = CreationTokens.AttemptOf(EbsTags.Get(existing.Tags, EbsTags.ClientTokenAttempt));
            var (outcome, _) = await WaitCreatedAsync(existing.VolumeId, spec.Name, attempt, recentlyCreated: false, cancellationToken).ConfigureAwait(false);
            if (outcome is not null)
            {
                return ToInfo(outcome, context, spec.ContentSource);
            }
            // Deleted since it was listed: make a fresh one below.
        }

        for (var round = 1; ; round++)
        {
            var attempt = _tokens.AttemptFor(spec.Name);
            var tags = VolumeTags(spec.Name, parameters, attempt);
            var token = CreationTokens.TokenFor(spec.Name, attempt);
            Volume created;
            if (sourceVolume is not null)
            {
                // A clone: EC2 copies the volume in its own zone.
                var copy = new CopyVolumesRequest
                {
                    SourceVolumeId = sourceVolume.VolumeId,
                    ClientToken = token,
                    Size = (int)sizeGiB,
                    VolumeType = VolumeType.FindValue(parameters.VolumeType),
                    Iops = iops,
                    Throughput = throughput,
                    MultiAttachEnabled = multiAttach ? true : null,
                    TagSpecifications = [new TagSpecification { ResourceType = ResourceType.Volume, Tags = tags }],
                };
                var response = await ec2.CallAsync("CopyVolumes", (c, t) => c.CopyVolumesAsync(copy, t), cancellationToken).ConfigureAwait(false);
                created = response.Volumes?.FirstOrDefault()
                    ?? throw StorageException.Internal($"EC2 CopyVolumes of {sourceVolume.VolumeId} returned no volume");
            }
            else
            {
                var (zone, zoneId) = await ChooseZoneAsync(spec.AccessibilityRequirements, cancellationToken).ConfigureAwait(false);
                var request = new CreateVolumeRequest
                {
                    ClientToken = token,
                    Size = (int)sizeGiB,
                    VolumeType = VolumeType.FindValue(parameters.VolumeType),
                    Iops = iops,
                    Throughput = throughput,
                    Encrypted = parameters.Encrypted ? true : null,
                    KmsKeyId = parameters.KmsKeyId,
                    SnapshotId = sourceSnapshot?.SnapshotId,
                    MultiAttachEnabled = multiAttach ? true : null,
                    TagSpecifications = [new TagSpecification { ResourceType = ResourceType.Volume, Tags = tags }],
                };
                if (zone is not null)
                {
                    request.AvailabilityZone = zone;
                }
                else
                {
                    request.AvailabilityZoneId = zoneId;
                }
                var response = await ec2.CallAsync("CreateVolume", (c, t) => c.CreateVolumeAsync(request, t), cancellationToken).ConfigureAwait(false);
                created = response.Volume ?? throw StorageException.Internal("EC2 CreateVolume returned no volume");
            }
            AwsBackendLog.VolumeCreated(logger, created.VolumeId, spec.Name, sizeGiB, parameters.VolumeType, created.AvailabilityZone, attempt);

            // A replayed token answers with the old volume as it is now: already going or gone means burned.
            var (available, missing) = IsGone(created.State)
                ? (null, false)
                : await WaitCreatedAsync(created.VolumeId, spec.Name, attempt, recentlyCreated: true, cancellationToken).ConfigureAwait(false);
            if (available is not null)
            {
                return ToInfo(available, context, spec.ContentSource);
            }
            if (missing && !_tokens.MissingAgain(spec.Name, created.VolumeId))
            {
                // Not found past the grace window once is no proof it is gone (EC2's read path can lag longer):
                // a fresh token now could make a second volume. The CO retries; missing again then is proof.
                throw StorageException.Unavailable(
                    $"volume {created.VolumeId} created for {InputEcho.Of(spec.Name)} is not visible in EC2 yet; retry");
            }
            _tokens.Burned(spec.Name, attempt);
            AwsBackendLog.ReplayedDeletedVolume(logger, created.VolumeId, spec.Name, attempt + 1);
            if (round >= CreationTokens.MaxFreshTokensPerCall)
            {
                throw StorageException.Internal(
                    $"EC2 gave {round} volumes for {spec.Name} that vanished while being created (last {created.VolumeId}); check the KMS key and the volume parameters");
            }
        }
    }

    public async Task DeleteVolumeAsync(string volumeId, CancellationToken cancellationToken)
    {
        try
        {
            var request = new DeleteVolumeRequest { VolumeId = volumeId };
            await ec2.CallAsync("DeleteVolume", (c, t) => c.DeleteVolumeAsync(request, t), cancellationToken).ConfigureAwait(false);
            AwsBackendLog.VolumeDeleted(logger, volumeId);
        }
        catch (StorageException ex) when (ex.Kind == FailureKind.NotFound)
        {
            // Gone already (or never an EBS id): deletion is idempotent.
        }
        catch (StorageException ex) when (ex.Kind == FailureKind.FailedPrecondition)
        {
            throw StorageException.FailedPrecondition($"volume {volumeId} is still attached; detach it before deleting ({ex.Message})");
        }
    }

    public async Task<VolumeInfo?> GetVolumeAsync(string volumeId, CancellationToken cancellationToken)
    {
        var volume = await pollers.Volumes.GetAsync(volumeId, cancellationToken).ConfigureAwait(false);
        return volume is null ? null : ToInfo(volume, new Dictionary<string, string>(), null);
    }

    public async Task<Page<VolumeInfo>> ListVolumesAsync(int maxEntries, string? startingToken, CancellationToken cancellationToken)
    {
        var token = PageToken.Decode(startingToken);
        var request = new DescribeVolumesRequest
        {
            Filters = [new Filter("tag-key", [EbsTags.VolumeName])],
            MaxResults = maxEntries > 0 ? Math.Clamp(maxEntries + token.Skip, 5, 500) : 500,
            NextToken = token.Ec2Token,
        };
        DescribeVolumesResponse response;
        try
        {
            response = await ec2.CallAsync("DescribeVolumes", (c, t) => c.DescribeVolumesAsync(request, t), cancellationToken).ConfigureAwait(false);
        }
        catch (StorageException ex) when (ex.Kind == FailureKind.InvalidArgument && token.Ec2Token is not null)
        {
            throw StorageException.Aborted($"starting_token is no longer valid: {ex.Message}");
        }
        // A volume being deleted is gone for the CO (its DeleteVolume succeeded): listing it would bring it back.
        var volumes = (response.Volumes ?? [])
            .Where(v => v.State != VolumeState.Deleting && v.State != VolumeState.Deleted)
            .Select(v => ToInfo(v, new Dictionary<string, string>(), null)).ToList();
        var (items, next) = PageToken.Slice(volumes, token, response.NextToken, maxEntries);
        return new Page<VolumeInfo>(items, next);
    }

    public Task<IReadOnlyDictionary<string, string>> PublishAsync(PublishSpec spec, CancellationToken cancellationToken) =>
        attachments.PublishAsync(spec, cancellationToken);

    public Task UnpublishAsync(string volumeId, string? nodeId, CancellationToken cancellationToken) =>
        attachments.UnpublishAsync(volumeId, nodeId, cancellationToken);

    public async Task<ExpandResult> ExpandVolumeAsync(string volumeId, long requiredBytes, long limitBytes, CancellationToken cancellationToken)
    {
        // The volume's own type bounds it further once known (ModificationCoalescer); here, the largest EBS type.
        var requiredGiB = CapacityPlan.ForExpand(requiredBytes, limitBytes, AnyTypeRules) / GiB;
        var volume = await modifications.SubmitAsync(volumeId, new ModifyTarget(SizeGiB: (int)requiredGiB), cancellationToken).ConfigureAwait(false);
        return new ExpandResult((volume.Size ?? requiredGiB) * GiB, NodeExpansionRequired: true);
    }

    public async Task ModifyVolumeAsync(string volumeId, IReadOnlyDictionary<string, string> mutableParameters, CancellationToken cancellationToken)
    {
        string? type = null;
        int? iops = null;
        int? throughput = null;
        var tagSpecifications = new List<string>();
        foreach (var (key, value) in mutableParameters)
        {
            if (key.Equals(VolumeParameters.TypeKey, StringComparison.OrdinalIgnoreCase))
            {
                type = value.Trim().ToLowerInvariant();
                if (VolumeTypeLimits.Find(type) is null)
                {
                    throw StorageException.InvalidArgument($"parameter type={InputEcho.Of(value)} is not an EBS volume type (use {string.Join(", ", VolumeTypeLimits.Types)})");
                }
            }
            else if (key.Equals(VolumeParameters.IopsKey, StringComparison.OrdinalIgnoreCase))
            {
                iops = VolumeParameters.ParseInt(VolumeParameters.IopsKey, value);
            }
            else if (key.Equals(VolumeParameters.ThroughputKey, StringComparison.OrdinalIgnoreCase))
            {
                throughput = VolumeParameters.ParseInt(VolumeParameters.ThroughputKey, value);
            }
            else if (key.StartsWith(VolumeParameters.TagSpecificationPrefix, StringComparison.OrdinalIgnoreCase))
            {
                tagSpecifications.Add(value);
            }
            else
            {
                throw StorageException.InvalidArgument($"mutable parameter {InputEcho.Of(key)} is not supported (use type, iops, throughput or {VolumeParameters.TagSpecificationPrefix}N)");
            }
        }
        // Render every tag first: a bad one must fail before anything changes.
        var tags = tagSpecifications.Select(s => TagTemplate.Render(s, new Dictionary<string, string>())).Select(t => new Tag(t.Key, t.Value)).ToList();

        if (type is not null || iops is not null || throughput is not null)
        {
            await modifications.SubmitAsync(volumeId, new ModifyTarget(null, type, iops, throughput), cancellationToken).ConfigureAwait(false);
        }
        else if (await pollers.Volumes.GetAsync(volumeId, cancellationToken).ConfigureAwait(false) is null)
        {
            throw StorageException.NotFound($"volume {volumeId} does not exist");
        }
        if (tags.Count > 0)
        {
            var request = new CreateTagsRequest { Resources = [volumeId], Tags = tags };
            await ec2.CallAsync("CreateTags", (c, t) => c.CreateTagsAsync(request, t), cancellationToken).ConfigureAwait(false);
        }
    }

    public Task<SnapshotInfo> CreateSnapshotAsync(string name, string sourceVolumeId, IReadOnlyDictionary<string, string> parameters, CancellationToken cancellationToken) =>
        snapshots.CreateAsync(name, sourceVolumeId, parameters, cancellationToken);

    public Task DeleteSnapshotAsync(string snapshotId, CancellationToken cancellationToken) => snapshots.DeleteAsync(snapshotId, cancellationToken);

    public Task<SnapshotInfo?> GetSnapshotAsync(string snapshotId, CancellationToken cancellationToken) => snapshots.GetAsync(snapshotId, cancellationToken);

    public Task<Page<SnapshotInfo>> ListSnapshotsAsync(SnapshotFilter filter, int maxEntries, string? startingToken, CancellationToken cancellationToken) =>
        snapshots.ListAsync(filter, maxEntries, startingToken, cancellationToken);

    /// <summary>EC2's idempotency token for a CSI name's first attempt: hex SHA-256, 64 characters (EC2's maximum).</summary>
    public static string ClientToken(string name) => CreationTokens.TokenFor(name, 1);

    /// <summary>
    /// The size to create, in GiB: the request rounded up to whole GiB (100 GiB when unspecified, as
    /// aws-ebs-csi-driver), raised to the type's minimum when the limit allows; beyond the type's maximum
    /// or the request's limit → OutOfRange naming which.
    /// </summary>
    public static long SizeGiB(long requiredBytes, long limitBytes, VolumeTypeLimits limits, long sourceGiB = 0) =>
        CapacityPlan.ForCreate(requiredBytes, limitBytes, sourceGiB * GiB, Rules(limits)) / GiB;

    /// <summary>EBS sizes: whole GiB within the type's range, 100 GiB when unspecified (as aws-ebs-csi-driver).</summary>
    public static SizeRules Rules(VolumeTypeLimits limits) =>
        new(GiB, limits.MinGiB * GiB, limits.MaxGiB * GiB, DefaultSizeGiB * GiB, limits.Type);

    private static readonly SizeRules AnyTypeRules =
        new(GiB, GiB, VolumeTypeLimits.Types.Max(t => VolumeTypeLimits.Find(t)!.MaxGiB) * GiB, DefaultSizeGiB * GiB, "EBS");

    /// <summary>Which access modes EBS can serve; returns whether the volume needs Multi-Attach.</summary>
    private static bool CheckAccessModes(IReadOnlyList<VolumeCapabilitySpec> capabilities, VolumeParameters parameters)
    {
        var multiAttach = false;
        foreach (var capability in capabilities)
        {
            switch (capability.AccessMode)
            {
                case AccessMode.MultiNodeMultiWriter:
                    if (!capability.IsBlock)
                    {
                        throw StorageException.InvalidArgument("MULTI_NODE_MULTI_WRITER is supported only for raw block volumes (EBS Multi-Attach has no shared filesystem)");
                    }
                    if (!parameters.Limits.SupportsMultiAttach)
                    {
                        throw StorageException.InvalidArgument($"MULTI_NODE_MULTI_WRITER needs an io2 (or io1) volume, not {parameters.VolumeType}");
                    }
                    multiAttach = true;
                    break;
                case AccessMode.MultiNodeReaderOnly:
                case AccessMode.MultiNodeSingleWriter:
                    throw StorageException.InvalidArgument($"access mode {capability.AccessMode} is not supported by EBS");
                default:
                    break;
            }
        }
        return multiAttach;
    }

    private static void CheckSameRequest(CreateVolumeSpec spec, Volume existing, long sizeGiB, string volumeType)
    {
        var existingType = existing.VolumeType?.Value;
        if (existing.Size != sizeGiB || existingType != volumeType)
        {
            throw StorageException.AlreadyExists(
                $"volume {spec.Name} already exists as {existing.VolumeId} ({existing.Size} GiB {existingType}), not {sizeGiB} GiB {volumeType}");
        }
        var wantedSnapshot = spec.ContentSource?.SnapshotId;
        if (wantedSnapshot is not null && existing.SnapshotId != wantedSnapshot)
        {
            throw StorageException.AlreadyExists($"volume {spec.Name} already exists as {existing.VolumeId} from another source");
        }
    }

    private Dictionary<string, string> DriverTags(string name, VolumeParameters parameters)
    {
        var tags = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [EbsTags.VolumeName] = name,
            [EbsTags.ManagedBy] = _driverOptions.DriverName,
        };
        if (parameters.TemplateValues.TryGetValue(TagTemplate.PvcName, out var pvc))
        {
            tags[EbsTags.PvcName] = pvc;
        }
        if (parameters.TemplateValues.TryGetValue(TagTemplate.PvcNamespace, out var ns))
        {
            tags[EbsTags.PvcNamespace] = ns;
        }
        if (parameters.TemplateValues.TryGetValue(TagTemplate.PvName, out var pv))
        {
            tags[EbsTags.PvName] = pv;
        }
        return tags;
    }

    private List<Tag> VolumeTags(string name, VolumeParameters parameters, int attempt)
    {
        var driverTags = DriverTags(name, parameters);
        if (attempt > 1)
        {
            driverTags[EbsTags.ClientTokenAttempt] = attempt.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        return EbsTags.Build(_options.ExtraTags, parameters.TagSpecifications, parameters.TemplateValues, driverTags);
    }

    private Task<Volume?> FindByNameAsync(string name, CancellationToken cancellationToken) =>
        pollers.VolumesByName.GetAsync(name, cancellationToken);

    private async Task<(string? Zone, string? ZoneId)> ChooseZoneAsync(TopologyRequirementSpec? requirements, CancellationToken cancellationToken)
    {
        var segments = (requirements?.Preferred ?? []).Concat(requirements?.Requisite ?? []);
        foreach (var segment in segments)
        {
            if (segment.TryGetValue(ZoneKey, out var zone) || segment.TryGetValue(EbsZoneKey, out zone))
            {
                return (zone, null);
            }
            if (segment.TryGetValue(ZoneIdKey, out var zoneId))
            {
                return (null, zoneId);
            }
        }
        try
        {
            // No requirement: the zone this controller runs in.
            var self = await metadata.GetAsync(cancellationToken).ConfigureAwait(false);
            return (self.AvailabilityZone, null);
        }
        catch (StorageException ex)
        {
            throw StorageException.InvalidArgument($"no accessibility requirement names a zone ({ZoneKey}) and this controller's zone is unknown: {ex.Message}");
        }
    }

    private static bool IsGone(VolumeState? state) => state == VolumeState.Deleting || state == VolumeState.Deleted;

    /// <summary>
    /// Waits for a just-created (or found) volume to leave state creating. Returns it when usable; null when it is
    /// gone (not found past the visibility grace, deleting or deleted: a replayed burned token, or EC2 removed
    /// it; Missing says it was not found rather than seen going). Only when EC2 itself reports the volume in state error is it deleted here (it will never be usable and
    /// its token is burned); any other failure, ours or EC2's, leaves the volume alone and reaches the caller.
    /// </summary>
    private async Task<(Volume? Volume, bool Missing)> WaitCreatedAsync(string volumeId, string name, int attempt, bool recentlyCreated, CancellationToken cancellationToken)
    {
        var failedInEc2 = false;
        Volume? volume;
        try
        {
            volume = await pollers.Volumes.WaitAsync(volumeId, v =>
            {
                if (v is null || IsGone(v.State))
                {
                    return true;
                }
                if (v.State == VolumeState.Error)
                {
                    failedInEc2 = true;
                    throw StorageException.Internal($"EC2 reports volume {volumeId} in state error while being created");
                }
                return v.State != VolumeState.Creating;
            }, new WaitSpec($"volume {volumeId} to become available", RecentlyCreated: recentlyCreated), cancellationToken).ConfigureAwait(false);
        }
        catch (StorageException ex) when (failedInEc2)
        {
            _tokens.Burned(name, attempt);
            AwsBackendLog.FailedVolumeDeleting(logger, volumeId, ex.Message);
            try
            {
                await DeleteVolumeAsync(volumeId, CancellationToken.None).ConfigureAwait(false);
            }
            catch (StorageException deleteError)
            {
                AwsBackendLog.FailedVolumeNotDeleted(logger, volumeId, deleteError.Message);
            }
            throw;
        }
        if (volume is null || IsGone(volume.State))
        {
            return (null, volume is null);
        }
        _tokens.Settled(name);
        return (volume, false);
    }

    internal static VolumeInfo ToInfo(Volume volume, IReadOnlyDictionary<string, string> context, VolumeContentSourceSpec? source)
    {
        var topology = volume.AvailabilityZone is { } zone
            ? new List<TopologySegments> { new() { [ZoneKey] = zone } }
            : [];
        var published = (volume.Attachments ?? [])
            .Where(a => a.State == VolumeAttachmentState.Attached || a.State == VolumeAttachmentState.Attaching)
            .Select(a => a.InstanceId)
            .ToList();
        source ??= volume.SnapshotId is { Length: > 0 } snapshotId ? new VolumeContentSourceSpec(snapshotId, null) : null;
        var condition = volume.State == VolumeState.Error ? new VolumeConditionInfo(true, "EC2 reports the volume in state error") : null;
        return new VolumeInfo(volume.VolumeId, (volume.Size ?? 0) * GiB, context, source, topology, published, condition);
    }
}
