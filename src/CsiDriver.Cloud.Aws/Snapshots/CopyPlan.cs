using System.Text.RegularExpressions;
using Amazon.EC2.Model;
using CsiDriver.Cloud.Aws.Volumes;
using CsiDriver.Core.Errors;

namespace CsiDriver.Cloud.Aws.Snapshots;

/// <summary>
/// Where a snapshot is copied for disaster recovery, from VolumeSnapshotClass parameters (named after the
/// proposal in aws-ebs-csi-driver#2926): copySnapshotToRegions (comma list; copySnapshotToRegion for one),
/// copySnapshotEncrypted, copySnapshotKmsKeyId_&lt;region&gt; (copySnapshotDestinationKmsKeyId with one region),
/// copySnapshotDeletionPolicy (Delete, the default, or Retain). The plan is kept as tags on the source snapshot:
/// status checks and DeleteSnapshot get only its id.
/// </summary>
public sealed partial record CopyPlan(IReadOnlyList<string> Regions, bool Encrypted, IReadOnlyDictionary<string, string> KmsKeyIds, bool Retain)
{
    public const string ToRegionsKey = "copySnapshotToRegions";
    public const string ToRegionKey = "copySnapshotToRegion";
    public const string EncryptedKey = "copySnapshotEncrypted";
    public const string KmsKeyIdPrefix = "copySnapshotKmsKeyId_";
    public const string DestinationKmsKeyIdKey = "copySnapshotDestinationKmsKeyId";
    public const string DeletionPolicyKey = "copySnapshotDeletionPolicy";

    // Tags on the source snapshot (the plan) and on each copy (what it is a copy of), in the driver's CSI* style.
    public const string ToRegionsTag = "CSICopySnapshotToRegions";
    public const string EncryptedTag = "CSICopySnapshotEncrypted";
    public const string KmsKeyIdTagPrefix = "CSICopySnapshotKmsKeyId_";
    public const string DeletionPolicyTag = "CSICopySnapshotDeletionPolicy";
    public const string CopyOfTag = "CSICopyOfSnapshot";
    public const string CopySourceRegionTag = "CSICopySourceRegion";

    public static bool IsCopyKey(string key) =>
        key.Equals(ToRegionsKey, StringComparison.OrdinalIgnoreCase) || key.Equals(ToRegionKey, StringComparison.OrdinalIgnoreCase)
        || key.Equals(EncryptedKey, StringComparison.OrdinalIgnoreCase) || key.StartsWith(KmsKeyIdPrefix, StringComparison.OrdinalIgnoreCase)
        || key.Equals(DestinationKmsKeyIdKey, StringComparison.OrdinalIgnoreCase) || key.Equals(DeletionPolicyKey, StringComparison.OrdinalIgnoreCase);

    /// <summary>The plan the parameters ask for, or null when they ask for no copy. Bad values → InvalidArgument naming the key.</summary>
    public static CopyPlan? Parse(IReadOnlyDictionary<string, string> parameters, string homeRegion)
    {
        string? Get(string key) => parameters.FirstOrDefault(p => p.Key.Equals(key, StringComparison.OrdinalIgnoreCase)).Value;
        var regionsText = Get(ToRegionsKey) ?? Get(ToRegionKey);
        var regions = (regionsText ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Distinct(StringComparer.Ordinal).ToList();
        var copyKeys = parameters.Keys.Where(IsCopyKey).ToList();
        if (regions.Count == 0)
        {
            if (copyKeys.Count > 0)
            {
                throw StorageException.InvalidArgument($"parameter {copyKeys[0]} needs {ToRegionsKey}");
            }
            return null;
        }
        foreach (var region in regions)
        {
            if (!RegionPattern().IsMatch(region))
            {
                throw StorageException.InvalidArgument($"parameter {ToRegionsKey}: '{region}' is not an AWS region name (e.g. us-west-2)");
            }
            if (region == homeRegion)
            {
                throw StorageException.InvalidArgument($"parameter {ToRegionsKey}: {region} is the region the snapshot is taken in; list other regions");
            }
        }
        var encrypted = false;
        if (Get(EncryptedKey) is { } encryptedText && !bool.TryParse(encryptedText, out encrypted))
        {
            throw StorageException.InvalidArgument($"parameter {EncryptedKey}={encryptedText} must be true or false");
        }
        var keys = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in parameters.Where(p => p.Key.StartsWith(KmsKeyIdPrefix, StringComparison.OrdinalIgnoreCase)))
        {
            var region = key[KmsKeyIdPrefix.Length..];
            if (!regions.Contains(region))
            {
                throw StorageException.InvalidArgument($"parameter {key}: {region} is not in {ToRegionsKey}");
            }
            keys[region] = value;
        }
        if (Get(DestinationKmsKeyIdKey) is { Length: > 0 } destinationKey)
        {
            if (regions.Count != 1)
            {
                throw StorageException.InvalidArgument($"parameter {DestinationKmsKeyIdKey} is for one target region; with several use {KmsKeyIdPrefix}<region>");
            }
            keys.TryAdd(regions[0], destinationKey);
        }
        var retain = Get(DeletionPolicyKey) switch
        {
            null or "Delete" => false,
            "Retain" => true,
            var other => throw StorageException.InvalidArgument($"parameter {DeletionPolicyKey}={other} must be Delete or Retain"),
        };
        return new CopyPlan(regions, encrypted || keys.Count > 0, keys, retain);
    }

    /// <summary>The plan as tags of the source snapshot.</summary>
    public IEnumerable<KeyValuePair<string, string>> ToTags()
    {
        yield return new(ToRegionsTag, string.Join(",", Regions));
        if (Encrypted)
        {
            yield return new(EncryptedTag, "true");
        }
        foreach (var (region, key) in KmsKeyIds)
        {
            yield return new(KmsKeyIdTagPrefix + region, key);
        }
        if (Retain)
        {
            yield return new(DeletionPolicyTag, "Retain");
        }
    }

    /// <summary>The plan kept on a source snapshot, or null when it has none.</summary>
    public static CopyPlan? FromTags(List<Tag>? tags)
    {
        if (EbsTags.Get(tags, ToRegionsTag) is not { Length: > 0 } regions)
        {
            return null;
        }
        var keys = (tags ?? []).Where(t => t.Key.StartsWith(KmsKeyIdTagPrefix, StringComparison.Ordinal))
            .ToDictionary(t => t.Key[KmsKeyIdTagPrefix.Length..], t => t.Value, StringComparer.Ordinal);
        return new CopyPlan(
            regions.Split(',', StringSplitOptions.RemoveEmptyEntries),
            EbsTags.Get(tags, EncryptedTag) == "true" || keys.Count > 0,
            keys,
            EbsTags.Get(tags, DeletionPolicyTag) == "Retain");
    }

    [GeneratedRegex("^[a-z]{2}(-[a-z]+)+-[0-9]+$")]
    private static partial Regex RegionPattern();
}
