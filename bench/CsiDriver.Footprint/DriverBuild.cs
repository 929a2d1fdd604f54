using System.Diagnostics;

namespace CsiDriver.Footprint;

/// <summary>One way of running csi-driver: the NativeAOT executable itself, or the JIT build through the dotnet host.</summary>
public sealed record DriverBuild(string Name, string FileName, IReadOnlyList<string> Prefix)
{
    public static DriverBuild Aot(string executable) => new("NativeAOT", executable, []);

    public static DriverBuild Jit(string dll) => new("JIT", "dotnet", [dll]);

    /// <summary>A named build: a *.dll runs through the dotnet host, anything else is executed directly.</summary>
    public static DriverBuild From(string name, string path) =>
        path.EndsWith(".dll", StringComparison.Ordinal) ? new(name, "dotnet", [path]) : new(name, path, []);

    /// <summary>The file that must exist for this build to be measured.</summary>
    public string Artifact => Prefix.Count > 0 ? Prefix[0] : FileName;

    public ProcessStartInfo StartInfo(IEnumerable<string> arguments)
    {
        var info = new ProcessStartInfo(FileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in Prefix.Concat(arguments))
        {
            info.ArgumentList.Add(argument);
        }
        return info;
    }
}
