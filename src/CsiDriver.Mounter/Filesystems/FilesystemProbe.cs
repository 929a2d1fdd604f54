using CsiDriver.Core.Errors;
using CsiDriver.Mounter.Commands;
using CsiDriver.Mounter.Devices;
using Microsoft.Win32.SafeHandles;

namespace CsiDriver.Mounter.Filesystems;

public enum DeviceContentKind
{
    /// <summary>No signature and zeros at both ends: safe to format.</summary>
    Blank,
    Filesystem,
    PartitionTable,
    /// <summary>A signature that is not a filesystem: RAID member, LUKS, swap, several at once.</summary>
    OtherSignature,
    /// <summary>No signature blkid knows, yet the device does not read as zeros: someone's raw data.</summary>
    UnidentifiedData,
}

/// <summary>What a device holds. Type is blkid's TYPE (ext4, xfs, crypto_LUKS) or PTTYPE (dos, gpt).</summary>
public sealed record DeviceContent(DeviceContentKind Kind, string Type)
{
    public static readonly DeviceContent Blank = new(DeviceContentKind.Blank, string.Empty);

    public bool IsBlank => Kind == DeviceContentKind.Blank;

    public string Describe() => Kind switch
    {
        DeviceContentKind.Blank => "nothing (blank)",
        DeviceContentKind.Filesystem => $"a {Type} filesystem",
        DeviceContentKind.PartitionTable => $"a {Type} partition table",
        DeviceContentKind.OtherSignature => $"a {Type} signature",
        _ => "data without a known signature (non-zero bytes in its first or last MiB or in a sample read across it)",
    };
}

/// <summary>Finds out whether a device holds anything. Only a Blank answer ever allows formatting.</summary>
public interface IFilesystemProbe
{
    Task<DeviceContent> ProbeAsync(string device, CancellationToken cancellationToken);
}

/// <summary>
/// blkid's low-level probe (-p reads the device itself, never the blkid cache) for filesystems, partition tables
/// and other signatures. When blkid finds nothing, the first and last MiB and <see cref="Samples"/> reads of
/// <see cref="SampleBytes"/> spread evenly across the rest must also read as zeros: a volume used raw (a database on
/// a block volume) has no signature, and formatting it would destroy that data. Fresh cloud volumes and sparse files
/// read as zeros, so blank volumes still pass. Sampling bounds the cost (16 MiB + 2 MiB whatever the size) but can
/// miss data that lies entirely between two samples; the node's record of how a volume was used closes that gap
/// for volumes this node handed out (README: Safety).
/// </summary>
public sealed class BlkidFilesystemProbe(ICommandRunner runner, IBlockDevices devices) : IFilesystemProbe
{
    internal const int EdgeBytes = 1024 * 1024;
    internal const int Samples = 256;
    internal const int SampleBytes = 64 * 1024;

    /// <summary>Bytes per read: one sample, below the large object heap's threshold.</summary>
    private const int ReadBytes = 64 * 1024;

    // blkid exit codes (blkid(8)): 2 = nothing found, 8 = ambivalent result (several signatures).
    private const int NothingFound = 2;
    private const int Ambivalent = 8;

    public async Task<DeviceContent> ProbeAsync(string device, CancellationToken cancellationToken)
    {
        var result = await runner.RunAsync("blkid", ["-p", "-o", "export", "--", device], cancellationToken).ConfigureAwait(false);
        switch (result.ExitCode)
        {
            case 0:
                return Classify(ParseExport(result.StandardOutput));
            case NothingFound:
                return await ReadsAsZerosAsync(device, cancellationToken).ConfigureAwait(false)
                    ? DeviceContent.Blank
                    : new DeviceContent(DeviceContentKind.UnidentifiedData, string.Empty);
            case Ambivalent:
                return new DeviceContent(DeviceContentKind.OtherSignature, "ambivalent (several signatures)");
            default:
                // Not knowing must never read as blank.
                throw StorageException.Internal(
                    $"cannot probe {device} for existing data: blkid exited {result.ExitCode}: {result.StandardError.Trim()}");
        }
    }

    internal static IReadOnlyDictionary<string, string> ParseExport(string output)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in output.Split('\n'))
        {
            var equals = line.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0)
            {
                values[line[..equals].Trim()] = line[(equals + 1)..].Trim();
            }
        }
        return values;
    }

    internal static DeviceContent Classify(IReadOnlyDictionary<string, string> values)
    {
        values.TryGetValue("TYPE", out var type);
        values.TryGetValue("USAGE", out var usage);
        if (!string.IsNullOrEmpty(type))
        {
            return usage == "filesystem"
                ? new DeviceContent(DeviceContentKind.Filesystem, type)
                : new DeviceContent(DeviceContentKind.OtherSignature, type);
        }
        if (values.TryGetValue("PTTYPE", out var partitionTable) && partitionTable.Length > 0)
        {
            return new DeviceContent(DeviceContentKind.PartitionTable, partitionTable);
        }
        // blkid said it found something but named nothing we know: treat as taken.
        return new DeviceContent(DeviceContentKind.OtherSignature, "unknown");
    }

    private async Task<bool> ReadsAsZerosAsync(string device, CancellationToken cancellationToken)
    {
        var size = devices.GetSizeBytes(devices.GetDeviceNumber(device));
        using var handle = File.OpenHandle(device, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        // One buffer for all ~260 reads: a new one per read made each stage allocate 16 MiB, which grew the node
        // plugin's heap by that much at its first stage.
        var buffer = new byte[ReadBytes];
        var head = Math.Min(EdgeBytes, size);
        if (!await RangeIsZeroAsync(handle, buffer, 0, head, cancellationToken).ConfigureAwait(false))
        {
            return false;
        }
        var tailStart = Math.Max(head, size - EdgeBytes);
        if (!await RangeIsZeroAsync(handle, buffer, tailStart, size - tailStart, cancellationToken).ConfigureAwait(false))
        {
            return false;
        }
        foreach (var offset in SampleOffsets(head, tailStart))
        {
            if (!await RangeIsZeroAsync(handle, buffer, offset, Math.Min(SampleBytes, tailStart - offset), cancellationToken).ConfigureAwait(false))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>Evenly spread, 4 KiB-aligned offsets between the edges already read (none when they meet).</summary>
    internal static IEnumerable<long> SampleOffsets(long start, long end)
    {
        var span = end - start;
        if (span <= 0)
        {
            yield break;
        }
        var stride = Math.Max(SampleBytes, span / Samples);
        for (var offset = start; offset < end; offset += stride)
        {
            yield return offset & ~4095L;
        }
    }

    private static async Task<bool> RangeIsZeroAsync(SafeFileHandle handle, byte[] buffer, long offset, long length, CancellationToken cancellationToken)
    {
        var end = offset + length;
        while (offset < end)
        {
            var want = (int)Math.Min(buffer.Length, end - offset);
            var read = await RandomAccess.ReadAsync(handle, buffer.AsMemory(0, want), offset, cancellationToken).ConfigureAwait(false);
            if (read <= 0)
            {
                break;
            }
            if (buffer.AsSpan(0, read).ContainsAnyExcept((byte)0))
            {
                return false;
            }
            offset += read;
        }
        return true;
    }
}
