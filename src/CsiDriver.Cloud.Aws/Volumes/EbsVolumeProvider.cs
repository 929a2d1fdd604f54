using System.Security.Cryptography;
using System.Text;
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

namespace CsiDriver.Cloud.Aws.Volumes;

/// <summary>The EBS controller backend: volumes here, attachments and snapshots in their managers.</summary>
public sealed class EbsVolumeProvider(
    Ec2Caller ec2,
    Ec2Pollers pollers,
    AttachmentManager attachments,
    SnapshotManager snapshots,
    ModificationCoalescer modifications,
    IInstanceMetadataProvider metadata,
    AwsBackendOptions options,
    DriverOptions driverOptions,
    ILogger<EbsVolumeProvider> logger) : IVolumeProvider
{
    public const long GiB = 1L << 30;

    /// <summary>Size of a volume when the request gives none (as aws-ebs-csi-driver).</summary>
    public const int DefaultSizeGiB = 100;

    public const string ZoneKey = "topology.kubernetes.io/zone";

    /// <summary>aws-ebs-csi-driver's own zone key, accepted in requirements so migrated StorageClasses keep working.</summary>
    public const string EbsZoneKey = "topology.ebs.csi.aws.com/zone";

    public const string ZoneIdKey = "topology.k8s.aws/zone-id";

    /// <summary>
    /// The client-token generation of each CSI name whose earlier volume EC2 replayed after it was gone (see
    /// <see cref="ClientToken"/>). Kept in memory only: after a restart the first create meets the replay again
    /// and moves on, so retries after a crash still converge on one volume.
    /// </summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> _tokenGenerations = new(StringComparer.Ordinal);

    public string Name => "aws";

    // Liveness probes call this often; it must not spend EC2 API quota.
    public Task<bool> ProbeAsync(CancellationToken cancellationToken) => Task.FromResult(true);

    public async Task<VolumeInfo> CreateVolumeAsync(CreateVolumeSpec spec, CancellationToken cancellationToken)
    {
        var parameters = VolumeParameters.Parse(spec.Parameters, spec.MutableParameters, spec.Capabilities);
        var multiAttach = CheckAccessModes(spec.Capabilities, parameters);
        // With a source and no size asked for, the new volume is the source's size, not the 100 GiB default.
        var sizeUnspecified = spec.RequiredBytes == 0 && spec.LimitBytes == 0 && spec.ContentSource is not null;
        var sizeGiB = sizeUnspecified ? parameters.Limits.MinGiB : SizeGiB(spec.RequiredBytes, spec.LimitBytes, parameters.Limits);

        Snapshot? sourceSnapshot = null;
        Volume? sourceVolume = null;
        if (spec.ContentSource?.SnapshotId is { } snapshotId)
        {
            sourceSnapshot = await pollers.Snapshots.GetAsync(snapshotId, cancellationToken).ConfigureAwait(false)
                ?? throw StorageException.NotFound($"source snapshot {snapshotId} does not exist");
            sizeGiB = AtLeastSource(sizeGiB, sourceSnapshot.VolumeSize ?? 0, spec.LimitBytes, parameters.Limits, $"snapshot {snapshotId}");
        }
        else if (spec.ContentSource?.VolumeId is { } sourceVolumeId)
        {
            sourceVolume = await pollers.Volumes.GetAsync(sourceVolumeId, cancellationToken).ConfigureAwait(false)
                ?? throw StorageException.NotFound($"source volume {sourceVolumeId} does not exist");
            sizeGiB = AtLeastSource(sizeGiB, sourceVolume.Size ?? 0, spec.LimitBytes, parameters.Limits, $"volume {sourceVolumeId}");
        }
        var (iops, throughput) = parameters.ResolvePerformance(sizeGiB);
        var tags = VolumeTags(spec.Name, parameters);
        var context = parameters.Format.ToVolumeContext();

        var existing = await FindByNameAsync(spec.Name, cancellationToken).ConfigureAwait(false);
        if (existing is not null)
        {
            CheckSameRequest(spec, existing, sizeGiB, parameters.VolumeType);
            var ready = await WaitAvailableAsync(existing.VolumeId, recentlyCreated: false, cancellationToken).ConfigureAwait(false);
            return ToInfo(ready, context, spec.ContentSource);
        }

        // EC2 answers a client token it has seen with the volume it made then, even one deleted since: such a
        // replay is a volume this name had before (deleted, or failed and removed), so the next generation's
        // token asks for a new one.
        var generation = _tokenGenerations.GetValueOrDefault(spec.Name);
        var created = await RequestVolumeAsync(ClientToken(spec.Name, generation)).ConfigureAwait(false);
        if (created.State == VolumeState.Deleting || created.State == VolumeState.Deleted)
        {
            generation = NextTokenGeneration(spec.Name, generation);
            AwsBackendLog.ReplayedDeletedVolume(logger, created.VolumeId, spec.Name, generation);
            created = await RequestVolumeAsync(ClientToken(spec.Name, generation)).ConfigureAwait(false);
        }
        logger.LogInformation("Created volume {VolumeId} for {Name}: {SizeGiB} GiB {Type} in {Zone}",
            created.VolumeId, spec.Name, sizeGiB, parameters.VolumeType, created.AvailabilityZone);

        Volume available;
        try
        {
            available = await WaitAvailableAsync(created.VolumeId, recentlyCreated: true, cancellationToken).ConfigureAwait(false);
        }
        catch (StorageException ex) when (ex.Kind == FailureKind.Internal)
        {
            // The volume is gone or removed: the CO's retry must not be answered with it again.
            NextTokenGeneration(spec.Name, generation);
            throw;
        }
        return ToInfo(available, context, spec.ContentSource);

        async Task<Volume> RequestVolumeAsync(string clientToken)
        {
            if (sourceVolume is not null)
            {
                // A clone: EC2 copies the volume in its own zone.
                var copy = new CopyVolumesRequest
                {
                    SourceVolumeId = sourceVolume.VolumeId,
                    ClientToken = clientToken,
                    Size = (int)sizeGiB,
                    VolumeType = VolumeType.FindValue(parameters.VolumeType),
                    Iops = iops,
                    Throughput = throughput,
                    MultiAttachEnabled = multiAttach ? true : null,
                    TagSpecifications = [new TagSpecification { ResourceType = ResourceType.Volume, Tags = tags }],
                };
                var response = await ec2.CallAsync("CopyVolumes", (c, t) => c.CopyVolumesAsync(copy, t), cancellationToken).ConfigureAwait(false);
                return response.Volumes?.FirstOrDefault()
                    ?? throw StorageException.Internal($"EC2 CopyVolumes of {sourceVolume.VolumeId} returned no volume");
            }
            else
            {
                var (zone, zoneId) = await ChooseZoneAsync(spec.AccessibilityRequirements, cancellationToken).ConfigureAwait(false);
                var request = new CreateVolumeRequest
                {
                    ClientToken = clientToken,
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
                return response.Volume ?? throw StorageException.Internal("EC2 CreateVolume returned no volume");
            }
        }
    }

    /// <summary>Moves the name to the client-token generation after <paramref name="used"/>; returns it.</summary>
    private int NextTokenGeneration(string name, int used) =>
        _tokenGenerations.AddOrUpdate(name, used + 1, (_, current) => Math.Max(current, used + 1));

    public async Task DeleteVolumeAsync(string volumeId, CancellationToken cancellationToken)
    {
        try
        {
            var request = new DeleteVolumeRequest { VolumeId = volumeId };
            await ec2.CallAsync("DeleteVolume", (c, t) => c.DeleteVolumeAsync(request, t), cancellationToken).ConfigureAwait(false);
            logger.LogInformation("Deleted volume {VolumeId}", volumeId);
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
        var requiredGiB = CeilGiB(requiredBytes);
        if (limitBytes > 0 && requiredGiB * GiB > limitBytes)
        {
            throw StorageException.OutOfRange($"{requiredBytes} bytes rounded up to whole GiB ({requiredGiB} GiB) exceeds limit_bytes {limitBytes}");
        }
        if (requiredGiB > int.MaxValue)
        {
            throw StorageException.OutOfRange($"{requiredGiB} GiB is beyond any EBS volume size");
        }
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
                    throw StorageException.InvalidArgument($"parameter type={value} is not an EBS volume type (use {string.Join(", ", VolumeTypeLimits.Types)})");
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
                throw StorageException.InvalidArgument($"mutable parameter {key} is not supported (use type, iops, throughput or {VolumeParameters.TagSpecificationPrefix}N)");
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

    /// <summary>
    /// EC2's idempotency token for a CSI name: hex SHA-256, 64 characters (EC2's maximum). Generation 0 hashes the
    /// name alone; a later generation serves the same name once EC2's volume for the earlier token is gone.
    /// </summary>
    public static string ClientToken(string name, int generation = 0) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(generation == 0 ? name : $"{name}#{generation}")))[..64];

    /// <summary>
    /// The size to create, in GiB: the request rounded up to whole GiB (100 GiB when unspecified, as
    /// aws-ebs-csi-driver), raised to the type's minimum when the limit allows; beyond the type's maximum
    /// or the request's limit → OutOfRange naming which.
    /// </summary>
    public static long SizeGiB(long requiredBytes, long limitBytes, VolumeTypeLimits limits)
    {
        if (requiredBytes < 0 || limitBytes < 0)
        {
            throw StorageException.InvalidArgument("capacity_range bytes must not be negative");
        }
        if (limitBytes > 0 && requiredBytes > limitBytes)
        {
            throw StorageException.OutOfRange($"required_bytes {requiredBytes} exceeds limit_bytes {limitBytes}");
        }
        long size;
        if (requiredBytes > 0)
        {
            size = CeilGiB(requiredBytes);
        }
        else
        {
            size = DefaultSizeGiB;
            if (limitBytes > 0 && size * GiB > limitBytes)
            {
                size = limitBytes / GiB;
            }
        }
        size = Math.Max(size, limits.MinGiB);
        if (limitBytes > 0 && size * GiB > limitBytes)
        {
            throw StorageException.OutOfRange(
                $"a {limits.Type} volume is at least {limits.MinGiB} GiB and sizes are whole GiB, but limit_bytes is {limitBytes}");
        }
        if (size > limits.MaxGiB)
        {
            throw StorageException.OutOfRange($"{size} GiB is above the {limits.Type} maximum of {limits.MaxGiB} GiB");
        }
        return size;
    }

    private static long CeilGiB(long bytes) => bytes <= 0 ? 0 : ((bytes - 1) / GiB) + 1;

    private static long AtLeastSource(long sizeGiB, long sourceGiB, long limitBytes, VolumeTypeLimits limits, string source)
    {
        if (sizeGiB >= sourceGiB)
        {
            return sizeGiB;
        }
        if (limitBytes > 0 && sourceGiB * GiB > limitBytes)
        {
            throw StorageException.OutOfRange($"{source} is {sourceGiB} GiB, more than limit_bytes {limitBytes}");
        }
        if (sourceGiB > limits.MaxGiB)
        {
            throw StorageException.OutOfRange($"{source} is {sourceGiB} GiB, above the {limits.Type} maximum of {limits.MaxGiB} GiB");
        }
        return sourceGiB;
    }

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
            [EbsTags.ManagedBy] = driverOptions.DriverName,
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

    private List<Tag> VolumeTags(string name, VolumeParameters parameters) =>
        EbsTags.Build(options.ExtraTags, parameters.TagSpecifications, parameters.TemplateValues, DriverTags(name, parameters));

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

    private async Task<Volume> WaitAvailableAsync(string volumeId, bool recentlyCreated, CancellationToken cancellationToken)
    {
        try
        {
            var volume = await pollers.Volumes.WaitAsync(volumeId, v =>
            {
                if (v is null)
                {
                    // Past the grace window: EC2 removed it again (typically a KMS key it cannot use).
                    throw StorageException.Internal($"volume {volumeId} disappeared while being created; check the KMS key and the volume parameters");
                }
                if (v.State == VolumeState.Error || v.State == VolumeState.Deleting || v.State == VolumeState.Deleted)
                {
                    throw StorageException.Internal($"volume {volumeId} went to state {v.State.Value} while being created");
                }
                return v.State != VolumeState.Creating;
            }, new WaitSpec($"volume {volumeId} to become available", RecentlyCreated: recentlyCreated), cancellationToken).ConfigureAwait(false);
            return volume!;
        }
        catch (StorageException ex) when (ex.Kind == FailureKind.Internal)
        {
            // A volume in error will never be usable; remove it so the retry creates a fresh one.
            logger.LogWarning("Volume {VolumeId} failed to create, deleting it: {Message}", volumeId, ex.Message);
            try
            {
                await DeleteVolumeAsync(volumeId, CancellationToken.None).ConfigureAwait(false);
            }
            catch (StorageException deleteError)
            {
                logger.LogWarning("Could not delete failed volume {VolumeId}: {Message}", volumeId, deleteError.Message);
            }
            throw;
        }
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
