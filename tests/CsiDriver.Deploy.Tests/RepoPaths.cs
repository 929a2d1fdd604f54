namespace CsiDriver.Deploy.Tests;

/// <summary>Locates the repository checkout the tests run from (the directory holding CsiDriver.sln).</summary>
internal static class RepoPaths
{
    private static readonly Lazy<string> RootPath = new(FindRoot);

    public static string Root => RootPath.Value;

    public static string Overlay(string name) => Path.Combine(Root, "deploy", "kubernetes", "overlays", name);

    public static string Examples => Path.Combine(Root, "deploy", "examples");

    public static string File(params string[] parts) => Path.Combine([Root, .. parts]);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (System.IO.File.Exists(Path.Combine(dir.FullName, "CsiDriver.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException($"CsiDriver.sln not found above {AppContext.BaseDirectory}");
    }
}
