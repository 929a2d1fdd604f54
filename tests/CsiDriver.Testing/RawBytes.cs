namespace CsiDriver.Testing;

/// <summary>
/// Bytes below any filesystem, in a device node or an image file: what a test writes to see that the driver keeps
/// it (data at an offset, a partition table) and reads back to prove it did.
/// </summary>
public static class RawBytes
{
    /// <summary>Writes and flushes to disk (through a device node, so the loop device's own cache stays coherent).</summary>
    public static void WriteAt(string path, long offset, byte[] bytes)
    {
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
        RandomAccess.Write(handle, bytes, offset);
        RandomAccess.FlushToDisk(handle);
    }

    public static byte[] ReadAt(string path, long offset, int count)
    {
        var buffer = new byte[count];
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var read = RandomAccess.Read(handle, buffer, offset);
        return read == count ? buffer : throw new EndOfStreamException($"{path}: {read} of {count} bytes at {offset}");
    }

    /// <summary>A DOS partition table with one Linux partition, and nothing else on the device.</summary>
    public static void WriteMbrPartitionTable(string device)
    {
        var sector = new byte[512];
        // Partition entry 1 at 446: type 0x83 (Linux), first LBA 2048, 8192 sectors.
        sector[446 + 4] = 0x83;
        BitConverter.GetBytes(2048u).CopyTo(sector, 446 + 8);
        BitConverter.GetBytes(8192u).CopyTo(sector, 446 + 12);
        sector[510] = 0x55;
        sector[511] = 0xAA;
        WriteAt(device, 0, sector);
    }
}
