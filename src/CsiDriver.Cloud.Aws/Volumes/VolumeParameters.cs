using System.Globalization;
using CsiDriver.Core.Errors;
using CsiDriver.Core.Validation;
using CsiDriver.Core.Volumes;

namespace CsiDriver.Cloud.Aws.Volumes;

/// <summary>
/// The StorageClass parameters of aws-ebs-csi-driver, parsed and checked. Keys match case-insensitively,
/// as in that driver, so existing StorageClasses keep working.
/// </summary>
public sealed record VolumeParameters(
    string VolumeType,
    int? Iops,
    int? IopsPerGb,
    bool AllowAutoIopsPerGbIncrease,
    int? Throughput,
    bool Encrypted,
    string? KmsKeyId,
    string FsType,
    FormatOptions Format,
    IReadOnlyList<string> TagSpecifications,
    IReadOnlyDictionary<string, string> TemplateValues)
{
    public const string TypeKey = "type";
    public const string IopsKey = "iops";
    public const string IopsPerGbKey = "iopsPerGB";
    public const string AllowAutoIopsPerGbIncreaseKey = "allowAutoIOPSPerGBIncrease";
    public const string ThroughputKey = "throughput";
    public const string EncryptedKey = "encrypted";
    public const string KmsKeyIdKey = "kmsKeyId";
    public const string FsTypeKey = "csi.storage.k8s.io/fstype";

    /// <summary>The legacy spelling older aws-ebs-csi-driver StorageClasses still carry.</summary>
    public const string LegacyFsTypeKey = "fsType";
    public const string TagSpecificationPrefix = "tagSpecification_";
    public const string PvcNameKey = "csi.storage.k8s.io/pvc/name";
    public const string PvcNamespaceKey = "csi.storage.k8s.io/pvc/namespace";
    public const string PvNameKey = "csi.storage.k8s.io/pv/name";

    /// <summary>Parameters aws-ebs-csi-driver accepts that change nothing here (io2 is always Block Express).</summary>
    private static readonly string[] Ignored = ["blockExpress"];

    public static readonly IReadOnlySet<string> SupportedFsTypes = new HashSet<string>(StringComparer.Ordinal) { "ext4", "ext3", "xfs" };

    /// <summary>
    /// Parses CreateVolume parameters, with the VolumeAttributesClass's mutable parameters (type, iops,
    /// throughput, tags) taking precedence. fsType comes from the first mount capability, else the fstype
    /// parameter, else ext4; it is empty for raw block volumes.
    /// </summary>
    public static VolumeParameters Parse(
        IReadOnlyDictionary<string, string> parameters,
        IReadOnlyDictionary<string, string> mutableParameters,
        IReadOnlyList<VolumeCapabilitySpec> capabilities)
    {
        var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (key, value) in parameters)
        {
            values[key] = value;
        }
        foreach (var (key, value) in mutableParameters)
        {
            if (!IsMutableKey(key))
            {
                throw StorageException.InvalidArgument($"mutable parameter {InputEcho.Of(key)} is not supported (use type, iops, throughput or {TagSpecificationPrefix}N)");
            }
            values[key] = value;
        }

        string? Get(string key) => values.TryGetValue(key, out var v) ? v : null;

        foreach (var key in values.Keys)
        {
            if (!IsKnownKey(key))
            {
                throw StorageException.InvalidArgument($"parameter {InputEcho.Of(key)} is not supported by the aws backend");
            }
        }

        var type = (Get(TypeKey) ?? VolumeTypeLimits.Gp3).Trim().ToLowerInvariant();
        if (VolumeTypeLimits.Find(type) is null)
        {
            throw StorageException.InvalidArgument($"parameter type={InputEcho.Of(type)} is not an EBS volume type (use {string.Join(", ", VolumeTypeLimits.Types)})");
        }

        var iops = ParseInt(IopsKey, Get(IopsKey));
        var iopsPerGb = ParseInt(IopsPerGbKey, Get(IopsPerGbKey));
        if (iops is not null && iopsPerGb is not null)
        {
            throw StorageException.InvalidArgument($"parameters {IopsKey} and {IopsPerGbKey} are mutually exclusive");
        }
        var allowIncrease = ParseBool(AllowAutoIopsPerGbIncreaseKey, Get(AllowAutoIopsPerGbIncreaseKey)) ?? false;
        var throughput = ParseInt(ThroughputKey, Get(ThroughputKey));
        var encrypted = ParseBool(EncryptedKey, Get(EncryptedKey)) ?? false;
        var kmsKeyId = Get(KmsKeyIdKey) is { Length: > 0 } kms ? kms : null;
        if (kmsKeyId is not null && !encrypted)
        {
            throw StorageException.InvalidArgument($"parameter {KmsKeyIdKey} needs {EncryptedKey}=true");
        }

        var fsType = ResolveFsType(capabilities, Get(FsTypeKey) ?? Get(LegacyFsTypeKey));
        var format = FormatOptions.Parse(values, fsType);

        var tagSpecs = values
            .Where(p => p.Key.StartsWith(TagSpecificationPrefix, StringComparison.OrdinalIgnoreCase))
            .OrderBy(p => p.Key, StringComparer.OrdinalIgnoreCase)
            .Select(p => p.Value)
            .ToList();

        var templateValues = new Dictionary<string, string>(StringComparer.Ordinal);
        AddTemplateValue(templateValues, TagTemplate.PvcName, Get(PvcNameKey));
        AddTemplateValue(templateValues, TagTemplate.PvcNamespace, Get(PvcNamespaceKey));
        AddTemplateValue(templateValues, TagTemplate.PvName, Get(PvNameKey));

        return new VolumeParameters(type, iops, iopsPerGb, allowIncrease, throughput, encrypted, kmsKeyId, fsType, format, tagSpecs, templateValues);
    }

    public VolumeTypeLimits Limits => VolumeTypeLimits.Find(VolumeType)!;

    /// <summary>
    /// The IOPS and throughput to request for a volume of this size, after every per-type check.
    /// Parameter values that break a limit → InvalidArgument naming the limit.
    /// </summary>
    public (int? Iops, int? Throughput) ResolvePerformance(long sizeGiB)
    {
        var limits = Limits;
        if (!limits.SupportsIops && (Iops is not null || IopsPerGb is not null))
        {
            throw StorageException.InvalidArgument($"parameter {(Iops is not null ? IopsKey : IopsPerGbKey)} is not supported for volume type {VolumeType} (only gp3, io1 and io2)");
        }
        if (!limits.SupportsThroughput && Throughput is not null)
        {
            throw StorageException.InvalidArgument($"parameter {ThroughputKey} is not supported for volume type {VolumeType} (only gp3)");
        }
        int? iops = Iops;
        if (IopsPerGb is { } perGb)
        {
            var wanted = (long)perGb * sizeGiB;
            var max = limits.MaxIopsFor(sizeGiB);
            if (wanted < limits.MinIops!.Value)
            {
                if (!AllowAutoIopsPerGbIncrease)
                {
                    throw StorageException.InvalidArgument(
                        $"parameter {IopsPerGbKey}={perGb} gives {wanted} IOPS for {sizeGiB} GiB, below the {VolumeType} minimum of {limits.MinIops} IOPS; " +
                        $"raise it or set {AllowAutoIopsPerGbIncreaseKey}=true");
                }
                wanted = limits.MinIops.Value;
            }
            // Above the maximum, iopsPerGB is capped (as aws-ebs-csi-driver does): it is a ratio, not a promise.
            iops = (int)Math.Min(wanted, max);
        }
        if (iops is { } requested)
        {
            CheckIops(limits, requested, sizeGiB);
        }
        if (limits.IopsRequired && iops is null)
        {
            throw StorageException.InvalidArgument($"volume type {VolumeType} needs parameter {IopsKey} or {IopsPerGbKey}");
        }
        if (Throughput is { } throughput)
        {
            CheckThroughput(limits, throughput, iops);
        }
        return (iops, Throughput);
    }

    /// <summary>Checks an IOPS value against the type's range and per-GiB ratio.</summary>
    public static void CheckIops(VolumeTypeLimits limits, int iops, long sizeGiB)
    {
        if (iops < limits.MinIops || iops > limits.MaxIops)
        {
            throw StorageException.InvalidArgument($"{IopsKey}={iops} is outside the {limits.Type} range of {limits.MinIops} to {limits.MaxIops} IOPS");
        }
        var maxForSize = limits.MaxIopsFor(sizeGiB);
        if (iops > maxForSize)
        {
            throw StorageException.InvalidArgument(
                $"{IopsKey}={iops} is more than {limits.Type} allows for {sizeGiB} GiB: at most {limits.MaxIopsPerGiB} IOPS per GiB ({maxForSize} IOPS)");
        }
    }

    /// <summary>Checks a throughput value against the type's range and (gp3) the IOPS it needs.</summary>
    public static void CheckThroughput(VolumeTypeLimits limits, int throughput, int? iops)
    {
        if (throughput < limits.MinThroughput || throughput > limits.MaxThroughput)
        {
            throw StorageException.InvalidArgument(
                $"{ThroughputKey}={throughput} is outside the {limits.Type} range of {limits.MinThroughput} to {limits.MaxThroughput} MiB/s");
        }
        var effectiveIops = iops ?? limits.BaselineIops ?? 0;
        if (throughput > limits.MinThroughput && (long)throughput * VolumeTypeLimits.Gp3IopsPerMiBps > effectiveIops)
        {
            throw StorageException.InvalidArgument(
                $"{ThroughputKey}={throughput} MiB/s needs at least {(long)throughput * VolumeTypeLimits.Gp3IopsPerMiBps} IOPS on {limits.Type} " +
                $"(at most 0.25 MiB/s per IOPS), but the volume has {effectiveIops}");
        }
    }

    public static bool IsMutableKey(string key) =>
        key.Equals(TypeKey, StringComparison.OrdinalIgnoreCase)
        || key.Equals(IopsKey, StringComparison.OrdinalIgnoreCase)
        || key.Equals(ThroughputKey, StringComparison.OrdinalIgnoreCase)
        || key.StartsWith(TagSpecificationPrefix, StringComparison.OrdinalIgnoreCase);

    private static bool IsKnownKey(string key) =>
        key.Equals(TypeKey, StringComparison.OrdinalIgnoreCase)
        || key.Equals(IopsKey, StringComparison.OrdinalIgnoreCase)
        || key.Equals(IopsPerGbKey, StringComparison.OrdinalIgnoreCase)
        || key.Equals(AllowAutoIopsPerGbIncreaseKey, StringComparison.OrdinalIgnoreCase)
        || key.Equals(ThroughputKey, StringComparison.OrdinalIgnoreCase)
        || key.Equals(EncryptedKey, StringComparison.OrdinalIgnoreCase)
        || key.Equals(KmsKeyIdKey, StringComparison.OrdinalIgnoreCase)
        || key.Equals(LegacyFsTypeKey, StringComparison.OrdinalIgnoreCase)
        || key.StartsWith(TagSpecificationPrefix, StringComparison.OrdinalIgnoreCase)
        || FormatOptions.IsFormatKey(key)
        || Ignored.Any(i => i.Equals(key, StringComparison.OrdinalIgnoreCase))
        // The CO's own keys (fstype, the provisioner's PVC/PV metadata, secrets references).
        || key.StartsWith("csi.storage.k8s.io/", StringComparison.OrdinalIgnoreCase);

    internal static string ResolveFsType(IReadOnlyList<VolumeCapabilitySpec> capabilities, string? fsTypeParameter)
    {
        if (capabilities.Count > 0 && capabilities.All(c => c.IsBlock))
        {
            return string.Empty;
        }
        var fromCapability = capabilities.FirstOrDefault(c => !c.IsBlock && !string.IsNullOrEmpty(c.FsType))?.FsType;
        var fsType = (fromCapability ?? (string.IsNullOrWhiteSpace(fsTypeParameter) ? "ext4" : fsTypeParameter.Trim())).ToLowerInvariant();
        if (!SupportedFsTypes.Contains(fsType))
        {
            throw StorageException.InvalidArgument($"fsType {InputEcho.Of(fsType)} is not supported (use ext4, ext3 or xfs)");
        }
        return fsType;
    }

    /// <summary>A positive 32-bit parameter written exactly (see <see cref="ExactParameter"/>); the per-type limits come after.</summary>
    internal static int? ParseInt(string key, string? text) =>
        text is null ? null : ExactParameter.Int32(key, text, 1, int.MaxValue);

    private static bool? ParseBool(string key, string? text) => text is null ? null : ExactParameter.Bool(key, text);

    private static void AddTemplateValue(Dictionary<string, string> values, string name, string? value)
    {
        if (value is not null)
        {
            values[name] = value;
        }
    }
}
