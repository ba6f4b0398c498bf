"""Reinforcement-learning agents: the DQN teacher and SAC."""
