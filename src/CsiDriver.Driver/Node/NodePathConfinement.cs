using CsiDriver.Core;
using CsiDriver.Core.Errors;
using CsiDriver.Mounter.Devices;
using Microsoft.Extensions.Options;

namespace CsiDriver.Driver.Node;

/// <summary>
/// A node path that passed confinement. Canonical is the path with every symlink, ".", duplicate slash and trailing
/// slash resolved: the path the driver mounts on, unmounts, inspects or deletes, never the one the caller wrote.
/// Kind is what the final component is, not followed (a symlink there is refused, a corrupted mount is Unreachable).
/// </summary>
internal sealed record ConfinedPath(string Requested, string Canonical, PathKind Kind);

/// <summary>
/// Keeps node operations inside kubelet's tree. The node plugin runs as root in the host's mount namespace, so a
/// path a confused or hostile caller names (/etc, /proc/self, a symlink to /root) must never be mounted on,
/// unmounted or deleted. Allowed: strictly below &lt;kubelet-dir&gt;/pods (publish targets) and
/// &lt;kubelet-dir&gt;/plugins/kubernetes.io/csi (staging paths and block publish paths), plus any
/// --allowed-path-root; never the node state directory.
/// <para>
/// The check is made on the resolved path: the parent is resolved with realpath(3) (or, when it does not exist
/// yet, its deepest existing ancestor is, with the rest appended after "." and duplicate slashes are dropped), and
/// the final component is looked at without following it. The caller then acts on Canonical, which has no symlink
/// left in it. What remains is a race against someone who swaps a directory inside kubelet's tree for a symlink
/// between the check and the mount: only root on the node can, and root needs no CSI driver to mount anything.
/// </para>
/// </summary>
internal sealed class NodePathConfinement
{
    private const int ShownPathChars = 200;

    private readonly IPathInspector _paths;
    private readonly IReadOnlyList<string> _roots;
    private readonly string _stateDir;

    public NodePathConfinement(IOptions<DriverOptions> driverOptions, IPathInspector paths)
    {
        var options = driverOptions.Value;
        _paths = paths;
        _roots = [KubeletPodsDir(options.KubeletDir), KubeletCsiPluginDir(options.KubeletDir), .. options.AllowedPathRoots];
        _stateDir = options.EffectiveNodeStateDir;
    }

    public static string KubeletPodsDir(string kubeletDir) => Path.Combine(kubeletDir, "pods");

    public static string KubeletCsiPluginDir(string kubeletDir) => Path.Combine(kubeletDir, "plugins", "kubernetes.io", "csi");

    /// <summary>
    /// The confined path, or a failure of kind whenRefused naming the allowed roots: INVALID_ARGUMENT where a path
    /// is input to act on (stage, publish, unpublish, unstage), NOT_FOUND where the spec asks for it (stats, expand).
    /// A final-component symlink is refused the same way: the driver would act on whatever it points to.
    /// </summary>
    public ConfinedPath Require(string path, string field, FailureKind whenRefused)
    {
        var confined = TryConfine(path)
            ?? throw new StorageException(whenRefused,
                $"{field} {Show(path)} is outside the directories this node plugin acts in ({string.Join(", ", _roots)}); "
                + "set --kubelet-dir to kubelet's root directory, or add --allowed-path-root");
        if (confined.Kind == PathKind.Symlink)
        {
            throw new StorageException(whenRefused, $"{field} {Show(path)} is a symbolic link; the node plugin does not follow it");
        }
        return confined;
    }

    /// <summary>Null when the path, once resolved, is not strictly below an allowed root (or is in the node state directory).</summary>
    public ConfinedPath? TryConfine(string path)
    {
        var components = path.Split('/', StringSplitOptions.RemoveEmptyEntries).Where(c => c != ".").ToList();
        if (!Path.IsPathRooted(path) || components.Count == 0 || components.Contains(".."))
        {
            return null;
        }
        var parent = ResolvePhysical("/" + string.Join('/', components.SkipLast(1)));
        if (parent is null)
        {
            return null;
        }
        var canonical = parent.TrimEnd('/') + "/" + components[^1];
        if (!IsBelowAllowedRoot(canonical))
        {
            return null;
        }
        return new ConfinedPath(path, canonical, _paths.InspectNoFollow(canonical).Kind);
    }

    public static string Show(string path) => path.Length <= ShownPathChars ? path : path[..ShownPathChars] + "…";

    private bool IsBelowAllowedRoot(string canonical)
    {
        if (ResolvePhysical(_stateDir) is { } stateDir && IsAtOrBelow(canonical, stateDir))
        {
            return false;
        }
        return _roots.Any(root => ResolvePhysical(root) is { } resolved && resolved != "/" && canonical.StartsWith(resolved.TrimEnd('/') + "/", StringComparison.Ordinal));
    }

    private static bool IsAtOrBelow(string path, string directory) =>
        path == directory || path.StartsWith(directory.TrimEnd('/') + "/", StringComparison.Ordinal);

    /// <summary>realpath(3) of the deepest existing ancestor with the rest (already free of "." and "..") appended.</summary>
    private string? ResolvePhysical(string path)
    {
        var existing = path;
        var rest = new Stack<string>();
        while (true)
        {
            if (_paths.RealPath(existing) is { } resolved)
            {
                return rest.Count == 0 ? resolved : resolved.TrimEnd('/') + "/" + string.Join('/', rest);
            }
            var parent = Path.GetDirectoryName(existing);
            // A dangling symlink on the way would be followed by whoever creates the directory later.
            if (parent is null || _paths.InspectNoFollow(existing).Kind == PathKind.Symlink)
            {
                return null;
            }
            rest.Push(Path.GetFileName(existing));
            existing = parent;
        }
    }
}
