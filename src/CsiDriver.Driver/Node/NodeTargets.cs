using CsiDriver.Mounter.Devices;
using Microsoft.Extensions.Logging;

namespace CsiDriver.Driver.Node;

/// <summary>
/// Creates and removes the files and directories the node service mounts on. Callers remove only a path the node's
/// record says this driver created, and removal only ever takes an empty directory or an empty regular file: the
/// two things this driver creates. Anything else is left in place.
/// </summary>
internal sealed class NodeTargets(IPathInspector paths, ILogger<NodeTargets> logger)
{
    /// <summary>Makes sure a directory exists; true when this call created it.</summary>
    public bool EnsureDirectory(string path, string field)
    {
        switch (paths.Inspect(path).Kind)
        {
            case PathKind.Directory:
                return false;
            case PathKind.Missing:
                Directory.CreateDirectory(path);
                return true;
            default:
                throw Core.Errors.StorageException.FailedPrecondition($"{field} {path} exists and is not a directory");
        }
    }

    /// <summary>Makes sure an empty regular file exists to bind a device node onto; true when this call created it.</summary>
    public bool EnsureFile(string path, string field)
    {
        switch (paths.Inspect(path).Kind)
        {
            case PathKind.RegularFile:
                return false;
            case PathKind.Missing:
                var parent = Path.GetDirectoryName(path);
                if (parent is not null)
                {
                    Directory.CreateDirectory(parent);
                }
                using (new FileStream(path, FileMode.CreateNew, FileAccess.Write))
                {
                }
                return true;
            default:
                throw Core.Errors.StorageException.FailedPrecondition(
                    $"{field} {path} exists and is not a regular file; a block volume is published as a file");
        }
    }

    /// <summary>Removes what a publish created at path, if it is still an empty directory or an empty file.</summary>
    public void RemoveCreated(string path)
    {
        var info = paths.Inspect(path);
        try
        {
            switch (info.Kind)
            {
                case PathKind.Directory when !Directory.EnumerateFileSystemEntries(path).Any():
                    Directory.Delete(path, recursive: false);
                    break;
                case PathKind.RegularFile when info.Size == 0:
                    File.Delete(path);
                    break;
                case PathKind.Missing:
                    break;
                default:
                    NodeLog.LeftInPlace(logger, path);
                    break;
            }
        }
        catch (IOException ex)
        {
            NodeLog.CouldNotRemove(logger, ex, path);
        }
    }
}
