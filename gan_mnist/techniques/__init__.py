"""Techniques switched by a Config field: conditioning on classes or k-means groups, and G's
moving average (EMA). The networks and train ops read them; they read only the foundation."""
