using System.Globalization;
using CsiDriver.Core.Errors;
using CsiDriver.Core.Validation;

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
            RequireFs(BlockSizeKey, fsType, isExt || isXfs);
            // mkfs.xfs (with CRCs, its default) takes 1 KiB to 64 KiB; mke2fs refuses blocks above the page size.
            var (min, max) = isXfs ? (1024, 65536) : (1024, MaxExtBlockSize);
            options = options with { BlockSize = PowerOfTwo(BlockSizeKey, blockSizeText, min, max) };
        }
        if (Get(InodeSizeKey) is { } inodeSizeText)
        {
            RequireFs(InodeSizeKey, fsType, isExt || isXfs);
            // mkfs.xfs: 512 (CRCs) to 2048 and at most half a block. mke2fs: 128 up to the block size, and it
            // picks 1 KiB blocks for small devices, so above 1024 the block size must be given too.
            var (min, max, why) = isXfs
                ? (512, Math.Min(2048, (options.BlockSize ?? 4096) / 2), " (mkfs.xfs: at most half the block size)")
                : (128, options.BlockSize ?? 1024, options.BlockSize is null
                    ? $" (mke2fs: at most the block size, 1024 on small devices; set {BlockSizeKey} for larger inodes)"
                    : " (mke2fs: at most the block size)");
            options = options with { InodeSize = PowerOfTwo(InodeSizeKey, inodeSizeText, min, max, why) };
        }
        if (Get(BytesPerInodeKey) is { } bytesPerInodeText)
        {
            RequireFs(BytesPerInodeKey, fsType, isExt);
            // mke2fs -i: 1024 to 65536 * 1024.
            options = options with { BytesPerInode = ExactParameter.Int64(BytesPerInodeKey, bytesPerInodeText, 1024, 67_108_864) };
        }
        if (Get(NumberOfInodesKey) is { } numberOfInodesText)
        {
            RequireFs(NumberOfInodesKey, fsType, isExt);
            options = options with { NumberOfInodes = ExactParameter.Int64(NumberOfInodesKey, numberOfInodesText, 1, uint.MaxValue) };
        }
        if (Get(Ext4BigAllocKey) is { } bigAllocText)
        {
            var bigAlloc = ExactParameter.Bool(Ext4BigAllocKey, bigAllocText);
            if (bigAlloc)
            {
                RequireFs(Ext4BigAllocKey, fsType, fsType == "ext4");
            }
            options = options with { Ext4BigAlloc = bigAlloc };
        }
        if (Get(Ext4ClusterSizeKey) is { } clusterSizeText)
        {
            RequireFs(Ext4ClusterSizeKey, fsType, fsType == "ext4");
            if (!options.Ext4BigAlloc)
            {
                throw Invalid(Ext4ClusterSizeKey, clusterSizeText, $"needs {Ext4BigAllocKey}=true");
            }
            // mke2fs -C: above 1 KiB and at least the block size; capped at 256 MiB as before.
            var min = Math.Max(2048, options.BlockSize ?? 4096);
            options = options with { Ext4ClusterSize = PowerOfTwo(Ext4ClusterSizeKey, clusterSizeText, min, 256 * 1024 * 1024) };
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

    /// <summary>The largest ext block size mke2fs accepts without force: the page size of x86-64 and most arm64 kernels.</summary>
    public const int MaxExtBlockSize = 4096;

    private static int PowerOfTwo(string key, string text, int min, int max, string why = "")
    {
        return ExactParameter.TryParseDigits(text, out var value) && value >= min && value <= max && (value & (value - 1)) == 0
            ? (int)value
            : throw Invalid(key, text, $"must be a power of two from {min} to {max}, written in plain digits{why}");
    }

    private static void RequireFs(string key, string fsType, bool supported)
    {
        if (!supported)
        {
            var what = fsType.Length == 0 ? "a raw block volume" : $"fsType {InputEcho.Of(fsType)}";
            throw StorageException.InvalidArgument($"parameter {InputEcho.Of(key)} is not supported for {what}");
        }
    }

    private static StorageException Invalid(string key, string value, string rule) =>
        StorageException.InvalidArgument($"parameter {key}={InputEcho.Of(value)} {rule}");
}
