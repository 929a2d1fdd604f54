using CsiDriver.Core.Errors;
using CsiDriver.Core.Storage;
using CsiDriver.Mounter.Commands;

namespace CsiDriver.Cloud.Local;

/// <summary>
/// Makes and grows the image files behind volumes and snapshots: an empty sparse file, or a copy of another image
/// (a reflink where the filesystem has it, else a sparse byte copy that takes as long as the data is big).
/// An image is built under a temp name and renamed into place, so a crash leaves only a temp file for recovery.
/// </summary>
internal sealed class LocalImages(ICommandRunner commands)
{
    /// <summary>Builds the image (empty when sourceFile is null, else a copy of it), grows it to size, renames it into place.</summary>
    public async Task MakeAsync(string image, string? sourceFile, long size)
    {
        var temp = LocalStatePaths.TempFor(image);
        try
        {
            if (sourceFile is null)
            {
                using var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write);
                SetLength(stream, size);
                stream.Flush(flushToDisk: true);
            }
            else
            {
                // Never cancelled half-way: the caller holds the source and the target until the copy is done.
                (await commands.RunAsync("cp", ["--reflink=auto", "--sparse=always", sourceFile, temp], CancellationToken.None)
                    .ConfigureAwait(false)).EnsureSuccess();
                Grow(temp, size);
            }
            File.Move(temp, image, overwrite: true);
            AtomicFile.SyncDirectory(Path.GetDirectoryName(image)!);
        }
        catch
        {
            AtomicFile.TryDelete(temp);
            throw;
        }
    }

    /// <summary>Grows the file to size (never shrinks it) and flushes it.</summary>
    public static void Grow(string file, long size)
    {
        using var stream = new FileStream(file, FileMode.Open, FileAccess.ReadWrite);
        if (stream.Length < size)
        {
            SetLength(stream, size);
        }
        stream.Flush(flushToDisk: true);
    }

    /// <summary>
    /// Sizes a sparse image. A size beyond what the state dir's filesystem can hold in one file (ext4: 16 TiB
    /// with 4 KiB blocks) fails in ftruncate with EFBIG, which .NET reports as ArgumentOutOfRangeException:
    /// that is the backend's maximum, so OUT_OF_RANGE, not INTERNAL.
    /// </summary>
    private static void SetLength(FileStream stream, long size)
    {
        try
        {
            stream.SetLength(size);
        }
        catch (ArgumentOutOfRangeException ex)
        {
            throw StorageException.OutOfRange(
                $"unsupported capacity: {size} bytes is more than the local backend's filesystem holds in one file (set --local-max-volume-size to say so up front)", ex);
        }
    }
}
