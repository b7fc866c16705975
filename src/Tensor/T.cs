namespace Engine; internal static class T {}
