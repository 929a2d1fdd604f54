namespace CsiDriver.Bench;

/// <summary>Data the benchmarks write so that copies and snapshots have real bytes to move.</summary>
public static class BenchData
{
    private const int BlockBytes = 4 << 20;

    /// <summary>Random bytes (one random 4 MiB block repeated) over the first <paramref name="bytes"/> of the file, flushed to disk.</summary>
    public static async Task WriteRandomAsync(string path, long bytes, FileMode mode)
    {
        var block = new byte[BlockBytes];
        Random.Shared.NextBytes(block);
        await using var file = new FileStream(path, mode, FileAccess.Write, FileShare.ReadWrite, 1 << 20);
        for (long written = 0; written < bytes; written += block.Length)
        {
            await file.WriteAsync(block.AsMemory(0, (int)Math.Min(block.Length, bytes - written)));
        }
        file.Flush(flushToDisk: true);
    }
}
