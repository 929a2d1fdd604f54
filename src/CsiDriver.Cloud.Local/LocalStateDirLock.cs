using CsiDriver.Core.Errors;

namespace CsiDriver.Cloud.Local;

/// <summary>
/// Holds an exclusive lock on the state dir for the process's lifetime: two controllers on one state dir would
/// each believe their own view. .NET takes FileShare.None as an advisory flock, which the kernel drops when the
/// process dies, even by kill -9, so a crash never leaves the dir locked.
/// </summary>
internal static class LocalStateDirLock
{
    public static FileStream Take(LocalStatePaths paths)
    {
        Directory.CreateDirectory(paths.StateDir);
        var path = Path.Combine(paths.StateDir, "lock");
        try
        {
            return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException ex)
        {
            throw StorageException.Unavailable($"state dir {paths.StateDir} is in use by another controller process", ex);
        }
    }
}
