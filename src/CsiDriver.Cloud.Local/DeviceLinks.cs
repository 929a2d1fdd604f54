using CsiDriver.Core.Storage;

namespace CsiDriver.Cloud.Local;

/// <summary>The stable links devices/&lt;volume-id&gt; → /dev/loopN, replaced atomically (new link under a temp name, then rename).</summary>
public static class DeviceLinks
{
    /// <summary>Where the link points, or null when there is no link.</summary>
    public static string? Read(string link)
    {
        try
        {
            return new FileInfo(link).LinkTarget;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Points the link at the device; readers see the old or the new target, never no link.</summary>
    public static void Replace(string link, string device)
    {
        if (Read(link) == device)
        {
            return;
        }
        var temp = LocalStatePaths.TempFor(link);
        File.CreateSymbolicLink(temp, device);
        try
        {
            File.Move(temp, link, overwrite: true);
        }
        catch
        {
            AtomicFile.TryDelete(temp);
            throw;
        }
        AtomicFile.SyncDirectory(Path.GetDirectoryName(link)!);
    }

    public static void Remove(string link)
    {
        if (Read(link) is not null)
        {
            File.Delete(link);
            AtomicFile.SyncDirectory(Path.GetDirectoryName(link)!);
        }
    }
}
