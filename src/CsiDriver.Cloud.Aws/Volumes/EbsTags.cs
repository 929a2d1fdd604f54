using Amazon.EC2.Model;

namespace CsiDriver.Cloud.Aws.Volumes;

/// <summary>Tag keys the driver writes. CSIVolumeName and the created-for tags are the ones EBS CSI users know.</summary>
public static class EbsTags
{
    /// <summary>The CSI name of a volume: the key of CreateVolume idempotency.</summary>
    public const string VolumeName = "CSIVolumeName";

    /// <summary>The CSI name of a snapshot: the key of CreateSnapshot idempotency.</summary>
    public const string SnapshotName = "CSIVolumeSnapshotName";

    /// <summary>The CSI name of a group snapshot, on every member: the key of CreateVolumeGroupSnapshot idempotency.</summary>
    public const string GroupSnapshotName = "CSIVolumeGroupSnapshotName";

    /// <summary>The group snapshot id, on every member: how GetVolumeGroupSnapshot and ListSnapshots find them.</summary>
    public const string GroupSnapshotId = "CSIVolumeGroupSnapshotId";

    public const string PvcName = "kubernetes.io/created-for/pvc/name";
    public const string PvcNamespace = "kubernetes.io/created-for/pvc/namespace";
    public const string PvName = "kubernetes.io/created-for/pv/name";
    public const string VolumeSnapshotName = "kubernetes.io/created-for/volumesnapshot/name";
    public const string VolumeSnapshotNamespace = "kubernetes.io/created-for/volumesnapshot/namespace";
    public const string VolumeSnapshotContentName = "kubernetes.io/created-for/volumesnapshotcontent/name";
    public const string VolumeGroupSnapshotName = "kubernetes.io/created-for/volumegroupsnapshot/name";
    public const string VolumeGroupSnapshotNamespace = "kubernetes.io/created-for/volumegroupsnapshot/namespace";
    public const string VolumeGroupSnapshotContentName = "kubernetes.io/created-for/volumegroupsnapshotcontent/name";

    /// <summary>Marks what this driver created; the value is the driver name.</summary>
    public const string ManagedBy = "csi.csidriver.io/managed-by";

    /// <summary>Which client-token attempt created the volume (see CreationTokens); absent for the first.</summary>
    public const string ClientTokenAttempt = "csi.csidriver.io/client-token-attempt";

    /// <summary>The prefix of every tag key this driver owns.</summary>
    public const string DriverPrefix = "csi.csidriver.io/";

    /// <summary>
    /// Prefixes of tag keys no user tag may set: the driver's CSI* tags (CSIVolumeName, CSIVolumeSnapshotName, the
    /// group snapshot and snapshot copy tags), its csi.csidriver.io/ tags, aws-ebs-csi-driver's (migrated volumes),
    /// the cluster's, AWS's.
    /// </summary>
    private static readonly string[] ReservedPrefixes =
        ["CSIVolume", "CSICopy", DriverPrefix, "ebs.csi.aws.com/", "kubernetes.io/cluster/", "kubernetes.io/created-for/", "aws:"];

    /// <summary>
    /// True for a key the driver owns or depends on: CSIVolumeName, CSIVolumeSnapshotName and the group snapshot tags
    /// carry idempotency, the copy, created-for and driver tags say what a volume or snapshot is, kubernetes.io/cluster/*
    /// says which cluster owns it, aws: is AWS's own. A user tag (tagSpecification_N, --extra-tags) with such a key
    /// is refused rather than allowed to overwrite or forge them. Compared without case, so no spelling slips by.
    /// </summary>
    public static bool IsReserved(string key) => ReservedPrefixes.Any(p => key.StartsWith(p, StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// Set on a volume while it is published read-only to the instance. EC2 attaches read-write only (the node mounts
    /// read-only), so the volume's tags are where ControllerPublishVolume's readonly is remembered: a second publish
    /// to the same instance with the other value is refused, also after a controller restart.
    /// </summary>
    public static string PublishedReadOnly(string instanceId) => "csi.csidriver.io/published-readonly/" + instanceId;

    /// <summary>
    /// The tags of a new volume or snapshot: --extra-tags, then the rendered tagSpecification_N, then the
    /// driver's own tags, which nothing can override (they carry idempotency).
    /// </summary>
    public static List<Tag> Build(
        IReadOnlyDictionary<string, string> extraTags,
        IEnumerable<string> tagSpecifications,
        IReadOnlyDictionary<string, string> templateValues,
        IReadOnlyDictionary<string, string> driverTags)
    {
        var tags = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in extraTags)
        {
            tags[key] = value;
        }
        foreach (var specification in tagSpecifications)
        {
            var (key, value) = TagTemplate.Render(specification, templateValues);
            tags[key] = value;
        }
        foreach (var (key, value) in driverTags)
        {
            tags[key] = value;
        }
        return [.. tags.OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => new Tag(t.Key, t.Value))];
    }

    public static string? Get(List<Tag>? tags, string key) => tags?.FirstOrDefault(t => t.Key == key)?.Value;
}
