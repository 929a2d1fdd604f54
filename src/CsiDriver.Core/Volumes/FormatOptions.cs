using System.Globalization;
using CsiDriver.Core.Errors;

namespace CsiDriver.Core.Volumes;

/// <summary>
/// How the node formats a new volume, from the StorageClass parameters aws-ebs-csi-driver users already write
/// (blockSize, inodeSize, bytesPerInode, numberOfInodes, ext4BigAlloc, ext4ClusterSize). CreateVolume validates
/// them and carries them in the volume context; NodeStageVolume reads them back from there.
/// </summary>
public sealed record FormatOptions(
    int? BlockSize = null,
    int? InodeSize = null,
    long? BytesPerInode = null,
    long? NumberOfInodes = null,
    bool Ext4BigAlloc = false,
    int? Ext4ClusterSize = null)
{
    public const string BlockSizeKey = "blockSize";
    public const string InodeSizeKey = "inodeSize";
    public const string BytesPerInodeKey = "bytesPerInode";
    public const string NumberOfInodesKey = "numberOfInodes";
    public const string Ext4BigAllocKey = "ext4BigAlloc";
    public const string Ext4ClusterSizeKey = "ext4ClusterSize";

    /// <summary>The StorageClass parameter / volume context keys, matched case-insensitively.</summary>
    public static readonly IReadOnlyList<string> Keys =
        [BlockSizeKey, InodeSizeKey, BytesPerInodeKey, NumberOfInodesKey, Ext4BigAllocKey, Ext4ClusterSizeKey];

    public static readonly FormatOptions None = new();

    public bool IsEmpty => this == None;

    /// <summary>True when the key is one of ours (any casing).</summary>
    public static bool IsFormatKey(string key) => Keys.Any(k => string.Equals(k, key, StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// Reads and validates the format options among the parameters for the given filesystem
    /// (ext4, ext3 or xfs; empty for a raw block volume, where any format option is an error).
    /// Throws InvalidArgument naming the key and the rule it broke.
    /// </summary>
    public static FormatOptions Parse(IReadOnlyDictionary<string, string> parameters, string fsType)
    {
        string? Get(string key) => parameters.FirstOrDefault(p => string.Equals(p.Key, key, StringComparison.OrdinalIgnoreCase)).Value;

        var isExt = fsType is "ext4" or "ext3";
        var isXfs = fsType == "xfs";
        var options = None;

        if (Get(BlockSizeKey) is { } blockSizeText)
        {
            var blockSize = (int)ParseNumber(BlockSizeKey, blockSizeText);
            var (min, max) = isXfs ? (512, 65536) : (1024, 65536);
            RequireFs(BlockSizeKey, fsType, isExt || isXfs);
            RequirePowerOfTwoIn(BlockSizeKey, blockSize, min, max);
            options = options with { BlockSize = blockSize };
        }
        if (Get(InodeSizeKey) is { } inodeSizeText)
        {
            var inodeSize = (int)ParseNumber(InodeSizeKey, inodeSizeText);
            RequireFs(InodeSizeKey, fsType, isExt || isXfs);
            var (min, max) = isXfs ? (256, 2048) : (128, 65536);
            RequirePowerOfTwoIn(InodeSizeKey, inodeSize, min, max);
            options = options with { InodeSize = inodeSize };
        }
        if (Get(BytesPerInodeKey) is { } bytesPerInodeText)
        {
            var bytesPerInode = ParseNumber(BytesPerInodeKey, bytesPerInodeText);
            RequireFs(BytesPerInodeKey, fsType, isExt);
            if (bytesPerInode is < 1024 or > 67_108_864)
            {
                throw Invalid(BytesPerInodeKey, bytesPerInodeText, "must be between 1024 and 67108864");
            }
            options = options with { BytesPerInode = bytesPerInode };
        }
        if (Get(NumberOfInodesKey) is { } numberOfInodesText)
        {
            var numberOfInodes = ParseNumber(NumberOfInodesKey, numberOfInodesText);
            RequireFs(NumberOfInodesKey, fsType, isExt);
            if (numberOfInodes < 1 || numberOfInodes > uint.MaxValue)
            {
                throw Invalid(NumberOfInodesKey, numberOfInodesText, "must be between 1 and 4294967295");
            }
            options = options with { NumberOfInodes = numberOfInodes };
        }
        if (Get(Ext4BigAllocKey) is { } bigAllocText)
        {
            if (!bool.TryParse(bigAllocText, out var bigAlloc))
            {
                throw Invalid(Ext4BigAllocKey, bigAllocText, "must be true or false");
            }
            if (bigAlloc)
            {
                RequireFs(Ext4BigAllocKey, fsType, fsType == "ext4");
            }
            options = options with { Ext4BigAlloc = bigAlloc };
        }
        if (Get(Ext4ClusterSizeKey) is { } clusterSizeText)
        {
            var clusterSize = (int)ParseNumber(Ext4ClusterSizeKey, clusterSizeText);
            RequireFs(Ext4ClusterSizeKey, fsType, fsType == "ext4");
            if (!options.Ext4BigAlloc)
            {
                throw Invalid(Ext4ClusterSizeKey, clusterSizeText, $"needs {Ext4BigAllocKey}=true");
            }
            RequirePowerOfTwoIn(Ext4ClusterSizeKey, clusterSize, options.BlockSize ?? 4096, 256 * 1024 * 1024);
            options = options with { Ext4ClusterSize = clusterSize };
        }
        return options;
    }

    /// <summary>The options as volume context entries (only those that are set).</summary>
    public IReadOnlyDictionary<string, string> ToVolumeContext()
    {
        var context = new Dictionary<string, string>(StringComparer.Ordinal);
        if (BlockSize is { } blockSize)
        {
            context[BlockSizeKey] = blockSize.ToString(CultureInfo.InvariantCulture);
        }
        if (InodeSize is { } inodeSize)
        {
            context[InodeSizeKey] = inodeSize.ToString(CultureInfo.InvariantCulture);
        }
        if (BytesPerInode is { } bytesPerInode)
        {
            context[BytesPerInodeKey] = bytesPerInode.ToString(CultureInfo.InvariantCulture);
        }
        if (NumberOfInodes is { } numberOfInodes)
        {
            context[NumberOfInodesKey] = numberOfInodes.ToString(CultureInfo.InvariantCulture);
        }
        if (Ext4BigAlloc)
        {
            context[Ext4BigAllocKey] = "true";
        }
        if (Ext4ClusterSize is { } clusterSize)
        {
            context[Ext4ClusterSizeKey] = clusterSize.ToString(CultureInfo.InvariantCulture);
        }
        return context;
    }

    private static long ParseNumber(string key, string text) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value > 0
            ? value
            : throw Invalid(key, text, "must be a positive whole number");

    private static void RequireFs(string key, string fsType, bool supported)
    {
        if (!supported)
        {
            var what = fsType.Length == 0 ? "a raw block volume" : $"fsType {fsType}";
            throw StorageException.InvalidArgument($"parameter {key} is not supported for {what}");
        }
    }

    private static void RequirePowerOfTwoIn(string key, long value, long min, long max)
    {
        if (value < min || value > max || (value & (value - 1)) != 0)
        {
            throw Invalid(key, value.ToString(CultureInfo.InvariantCulture), $"must be a power of two from {min} to {max}");
        }
    }

    private static StorageException Invalid(string key, string value, string rule) =>
        StorageException.InvalidArgument($"parameter {key}={value} {rule}");
}
