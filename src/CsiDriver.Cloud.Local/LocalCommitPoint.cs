using CsiDriver.Core.Storage;

namespace CsiDriver.Cloud.Local;

/// <summary>The record file is an object's commit point: deleting it (and syncing its directory) is the moment the object is gone.</summary>
internal static class LocalCommitPoint
{
    /// <summary>Deletes the record durably. On failure the object still exists: <paramref name="undo"/> puts it back in the catalog.</summary>
    public static void Remove(string recordPath, Action undo)
    {
        try
        {
            File.Delete(recordPath);
            AtomicFile.SyncDirectory(Path.GetDirectoryName(recordPath)!);
        }
        catch
        {
            undo();
            throw;
        }
    }
}
